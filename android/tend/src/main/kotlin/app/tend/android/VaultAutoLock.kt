package app.tend.android

import android.app.Activity
import android.app.Application
import android.os.Bundle
import android.os.Handler
import android.os.Looper

/**
 * Locks the vault when the app has been in the background for [delayMillis]
 * (no activity started), so a phone taken from a pocket, unlocked, shows a
 * locked vault. Coming back sooner cancels it. `lock` is usually
 * `vault::lock`: the core then drops its key and database connection.
 */
class VaultAutoLock(
    private val application: Application,
    private val delayMillis: Long = 60_000,
    private val lock: () -> Unit,
) : Application.ActivityLifecycleCallbacks {
    private val handler = Handler(Looper.getMainLooper())
    private val lockNow = Runnable { lock() }
    private var started = 0

    fun install() = application.registerActivityLifecycleCallbacks(this)

    fun uninstall() {
        application.unregisterActivityLifecycleCallbacks(this)
        handler.removeCallbacks(lockNow)
    }

    override fun onActivityStarted(activity: Activity) {
        started += 1
        handler.removeCallbacks(lockNow)
    }

    override fun onActivityStopped(activity: Activity) {
        started = maxOf(0, started - 1)
        if (started == 0) handler.postDelayed(lockNow, delayMillis)
    }

    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
    override fun onActivityResumed(activity: Activity) {}
    override fun onActivityPaused(activity: Activity) {}
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
    override fun onActivityDestroyed(activity: Activity) {}
}
