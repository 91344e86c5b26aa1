package app.tend.consumer

import app.tend.core.changes
import app.tend.core.createVaultWithPassphrase
import app.tend.core.generatePassphrase
import app.tend.core.model.Change
import app.tend.core.model.NewEntry
import java.nio.file.Path
import kotlinx.coroutines.flow.produceIn
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** What an app's own unit test does with the published jar. */
class JournalTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `an entry written is listed, and the journal's change is heard`() = runBlocking<Unit> {
        val vault = createVaultWithPassphrase(dir.resolve("vault").toString(), generatePassphrase())
        val heard = vault.changes.produceIn(this)
        var written = 0
        // The flow subscribes once collected; write until it hears.
        val first = withTimeout(30_000) {
            var change: Change? = null
            while (change == null) {
                vault.addEntry(NewEntry(null, null, listOf(), listOf(), null, "a walk by the canal"))
                written++
                change = withTimeoutOrNull(200) { heard.receive() }
            }
            change
        }
        heard.cancel()
        assertEquals(Change.JOURNAL, first)
        val listed = vault.listEntries(50, null, null, null, null).entries
        assertEquals(written, listed.size)
        assertEquals("a walk by the canal", listed.first().body)
    }
}
