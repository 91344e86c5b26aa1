package app.tend.android

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent

/** Shows a calm, content-free notification: the lock screen learns nothing. */
class ReminderReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val manager: NotificationManager = checkNotNull(context.getSystemService(NotificationManager::class.java))
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL, "Gathering reminders", NotificationManager.IMPORTANCE_DEFAULT),
        )
        val notification = Notification.Builder(context, CHANNEL)
            .setSmallIcon(android.R.drawable.ic_popup_reminder)
            .setContentTitle(if (intent.getBooleanExtra(EXTRA_REVIEW, false)) "Agreements to review" else "A gathering is coming up")
            .setContentText("Open Tend to see which.")
            .setVisibility(Notification.VISIBILITY_PRIVATE)
            .setAutoCancel(true)
            .build()
        manager.notify(NOTIFICATION_ID, notification)
    }

    companion object {
        /** Set on an agreements review's alarm. */
        const val EXTRA_REVIEW = "app.tend.review"
        private const val CHANNEL = "tend-gatherings"
        private const val NOTIFICATION_ID = 1
    }
}
