package app.tend.android

import android.app.Activity
import android.app.Application
import android.os.Looper
import java.time.Duration
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class VaultAutoLockTest {
    private val application: Application = RuntimeEnvironment.getApplication()

    @Test
    fun `the vault locks after the delay in the background, not if the member comes back`() {
        var locks = 0
        val autoLock = VaultAutoLock(application, delayMillis = 30_000) { locks += 1 }
        autoLock.install()
        val activity = Robolectric.buildActivity(Activity::class.java).create().start().resume()
        val looper = shadowOf(Looper.getMainLooper())

        activity.pause().stop()
        looper.idleFor(Duration.ofSeconds(20))
        assertEquals("not yet", 0, locks)
        activity.restart().resume() // onRestart, onStart, onResume
        looper.idleFor(Duration.ofSeconds(60))
        assertEquals("back in time: no lock", 0, locks)

        activity.pause().stop()
        looper.idleFor(Duration.ofSeconds(31))
        assertEquals("locked once the delay passed", 1, locks)
        autoLock.uninstall()
    }
}
