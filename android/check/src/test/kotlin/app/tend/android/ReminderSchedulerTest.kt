package app.tend.android

import android.app.AlarmManager
import android.content.Context
import android.content.Intent
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class ReminderSchedulerTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val alarms = shadowOf(context.getSystemService(AlarmManager::class.java))

    @Test
    fun `alarms follow the reminder list and come back after a reboot`() {
        val scheduler = ReminderScheduler(context)
        val now = System.currentTimeMillis() + 86_400_000L // a day ahead: restore() drops the past
        scheduler.schedule(listOf(now + 3_000, now + 1_000, now + 2_000))
        assertEquals(listOf(now + 1_000, now + 2_000, now + 3_000), alarms.scheduledAlarms.map { it.triggerAtTime }.sorted())
        assertEquals(listOf(now + 1_000, now + 2_000, now + 3_000), scheduler.scheduled())

        // A shorter list cancels the alarms it no longer needs.
        scheduler.schedule(listOf(now + 5_000))
        assertEquals(listOf(now + 5_000), alarms.scheduledAlarms.map { it.triggerAtTime })

        // After a reboot, alarms are gone; the boot receiver sets the future ones again.
        val rebooted = ReminderScheduler(context)
        alarms.scheduledAlarms.toList().forEach { alarm -> alarm.operation?.let { context.getSystemService(AlarmManager::class.java)!!.cancel(it) } }
        BootReceiver().onReceive(context, Intent(Intent.ACTION_BOOT_COMPLETED))
        assertEquals(listOf(now + 5_000), alarms.scheduledAlarms.map { it.triggerAtTime })
        assertEquals(listOf(now + 5_000), rebooted.scheduled())
    }

    @Test
    fun `never more than the cap`() {
        val scheduler = ReminderScheduler(context)
        scheduler.schedule((1..100).map { 1_795_694_400_000L + it * 60_000L })
        assertEquals(ReminderScheduler.MAX_ALARMS, alarms.scheduledAlarms.size)
    }

    @Test
    fun `a review's alarm says so, after a reboot too`() {
        val scheduler = ReminderScheduler(context)
        val now = System.currentTimeMillis() + 86_400_000L
        scheduler.schedule(listOf(now + 1_000, now + 2_000), reviews = setOf(now + 2_000))
        ReminderScheduler(context).restore()
        val byTime = alarms.scheduledAlarms.associate {
            it.triggerAtTime to shadowOf(it.operation).savedIntent.getBooleanExtra(ReminderReceiver.EXTRA_REVIEW, false)
        }
        assertEquals(mapOf(now + 1_000 to false, now + 2_000 to true), byTime)
        val manager = context.getSystemService(android.app.NotificationManager::class.java)!!
        val review = shadowOf(alarms.scheduledAlarms.first { it.triggerAtTime == now + 2_000 }.operation).savedIntent
        ReminderReceiver().onReceive(context, review)
        val shown = shadowOf(manager).allNotifications.single()
        assertEquals("Agreements to review", shadowOf(shown).contentTitle)
    }
}
