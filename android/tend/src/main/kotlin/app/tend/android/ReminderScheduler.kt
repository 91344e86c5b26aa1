package app.tend.android

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.os.Build
import app.tend.core.TendVault
import java.time.Instant

/**
 * Turns the core's "next N reminders" into AlarmManager alarms. Only fire
 * times, and whether each is a gathering's or an agreements review, are
 * kept outside the vault (to reschedule after a reboot, before the vault
 * can be unlocked); titles stay inside, and notifications say only which
 * of the two is coming.
 */
class ReminderScheduler(private val context: Context) {
    private val alarms: AlarmManager = checkNotNull(context.getSystemService(AlarmManager::class.java))
    private val prefs = context.getSharedPreferences("tend-reminders", Context.MODE_PRIVATE)

    /** Asks the vault for the next reminders and replaces the scheduled set. */
    suspend fun reschedule(vault: TendVault, now: Instant = Instant.now()) {
        val next = vault.nextReminders(now, MAX_ALARMS)
        val at = next.map { it.firesAt.toEpochMilli() }
        schedule(at, next.filter { it.gathering == null }.map { it.firesAt.toEpochMilli() }.toSet())
    }

    /**
     * Replaces the scheduled alarms with these fire times (Unix
     * milliseconds, as AlarmManager takes them; soonest first);
     * those in [reviews] are agreements reviews, the rest gatherings.
     */
    fun schedule(fireTimes: List<Long>, reviews: Set<Long> = emptySet()) {
        val times = fireTimes.sorted().take(MAX_ALARMS)
        val before = prefs.getInt(KEY_COUNT, 0)
        for (i in times.size until before) {
            alarms.cancel(pendingIntent(i, review = false))
        }
        val edit = prefs.edit()
        times.forEachIndexed { i, at ->
            val review = at in reviews
            set(at, pendingIntent(i, review))
            edit.putLong("$KEY_AT$i", at).putBoolean("$KEY_REVIEW$i", review)
        }
        edit.putInt(KEY_COUNT, times.size).apply()
    }

    /** After a reboot: the last schedule, minus what has passed. */
    fun restore(now: Long = System.currentTimeMillis()) {
        val count = prefs.getInt(KEY_COUNT, 0)
        val kept = (0 until count).map { prefs.getLong("$KEY_AT$it", 0) to prefs.getBoolean("$KEY_REVIEW$it", false) }
            .filter { (at, _) -> at >= now }
        schedule(kept.map { it.first }, kept.filter { it.second }.map { it.first }.toSet())
    }

    /** The fire times scheduled now, soonest first. */
    fun scheduled(): List<Long> = (0 until prefs.getInt(KEY_COUNT, 0)).map { prefs.getLong("$KEY_AT$it", 0) }

    private fun set(at: Long, intent: PendingIntent) {
        val exact = Build.VERSION.SDK_INT < Build.VERSION_CODES.S || alarms.canScheduleExactAlarms()
        if (exact) {
            alarms.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, at, intent)
        } else {
            alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, at, intent)
        }
    }

    private fun pendingIntent(slot: Int, review: Boolean): PendingIntent =
        PendingIntent.getBroadcast(
            context,
            slot,
            Intent(context, ReminderReceiver::class.java).putExtra(ReminderReceiver.EXTRA_REVIEW, review),
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )

    companion object {
        /** A few weeks of gatherings; AlarmManager copes with far more. */
        const val MAX_ALARMS = 32
        private const val KEY_COUNT = "count"
        private const val KEY_AT = "at"
        private const val KEY_REVIEW = "review"
    }
}
