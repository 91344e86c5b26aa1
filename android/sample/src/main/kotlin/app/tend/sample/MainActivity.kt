package app.tend.sample

import android.app.Activity
import android.os.Bundle
import android.widget.TextView
import app.tend.android.KeystoreKeyProvider
import app.tend.android.ReminderScheduler
import app.tend.android.VaultAutoLock
import app.tend.core.TendException
import app.tend.core.createVault
import app.tend.core.monthlyRestorativeGathering
import app.tend.core.openVault
import java.io.File
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/** Opens (or makes) a Keystore-protected vault, adds the monthly gathering
 *  once, schedules its reminders and shows the next one. */
class MainActivity : Activity(), CoroutineScope by MainScope() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val text = TextView(this).apply { text = "Opening the vault…" }
        setContentView(text)
        launch(Dispatchers.Main) {
            val dir = File(filesDir, "vault").path
            val keys = KeystoreKeyProvider(this@MainActivity)
            val vault = try {
                openVault(dir, keys)
            } catch (e: TendException.VaultNotFound) {
                createVault(dir, keys).also {
                    val zone = ZoneId.systemDefault().id
                    it.addGathering(monthlyRestorativeGathering(LocalDate.now(), zone, ""))
                }
            }
            // A minute in the background and the vault locks (its key dropped).
            VaultAutoLock(application, delayMillis = 60_000) { vault.lock() }.install()
            ReminderScheduler(this@MainActivity).reschedule(vault)
            val next = vault.nextReminders(Instant.now(), 1).firstOrNull()
            text.text = next?.let { "Next reminder: ${it.firesAt.atZone(ZoneId.systemDefault())} for ${it.title}" }
                ?: "No reminders ahead."
        }
    }

    override fun onDestroy() {
        cancel()
        super.onDestroy()
    }
}
