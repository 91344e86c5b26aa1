package app.tend.core

import app.tend.core.model.*
import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant
import java.time.LocalDate
import java.time.LocalDateTime
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.EmptyCoroutineContext
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.produceIn
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** Stands in for the Android Keystore: XOR with a secret pad, plus a tag. */
class PadKeyProvider(private val pad: Byte) : KeyProvider {
    override fun wrapKey(key: ByteArray): ByteArray =
        key.map { (it.toInt() xor pad.toInt()).toByte() }.toByteArray() + "pad".toByteArray()

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        if (!wrapped.decodeToString().endsWith("pad")) throw TendException.KeyProvider("not ours")
        return wrapped.copyOf(wrapped.size - 3).map { (it.toInt() xor pad.toInt()).toByte() }.toByteArray()
    }
}

fun entry(body: String, mood: Int? = null, feelings: List<String> = listOf()) = NewEntry(
    writtenAt = null, mood = mood?.toUByte(),
    feelings = feelings, activities = listOf(), title = null, body = body,
)

/** An app's own transport: a relay kept in memory, by mailbox. */
class MemoryTransport : DeliveryTransport {
    val waiting = java.util.concurrent.ConcurrentHashMap<String, MutableList<Arrival>>()
    val forgotten = CopyOnWriteArrayList<String>()

    override fun publish(relay: String, parcel: Parcel): String? {
        waiting.getOrPut(parcel.mailbox) { CopyOnWriteArrayList() }
            .add(Arrival(listOf("${relay}/${parcel.messageId}/${parcel.mailbox}"), parcel.envelope))
        return null
    }

    override fun fetch(relay: String, mailbox: String, since: Instant?): List<Arrival> =
        waiting[mailbox].orEmpty().toList()

    override fun forget(relay: String, mailbox: String, ids: List<String>) {
        forgotten.addAll(ids)
        waiting[mailbox]?.removeIf { it.ids.any(ids::contains) }
    }
}

open class TendTest {
    @TempDir
    lateinit var dir: Path

    /** Where the suite's coroutines run; [TendUnconfinedTest] runs it all again on Unconfined. */
    protected open val dispatcher: CoroutineContext = EmptyCoroutineContext

    /** A test's body; a call that never completes fails it instead of hanging the build. */
    protected fun journey(body: suspend CoroutineScope.() -> Unit) =
        runBlocking(dispatcher) { withTimeout(300_000) { body() } }

    private suspend fun member(name: String): TendVault {
        val vault = createVault(dir.resolve(name).toString(), PadKeyProvider(name.length.toByte()))
        vault.setDisplayName(name)
        return vault
    }

    @Test
    fun `a vault made with a Kotlin key provider opens only with it`() = journey {
        val path = dir.resolve("v").toString()
        val vault = createVault(path, PadKeyProvider(7))
        vault.addEntry(entry("kept under the Keystore"))
        vault.lock()
        assertTrue(vault.isLocked())
        assertThrows<TendException.Locked> { runBlocking(dispatcher) { vault.search("kept", 10) } }
        assertThrows<TendException.WrongKey> { runBlocking(dispatcher) { openVault(path, PadKeyProvider(9)) } }
        vault.unlock(PadKeyProvider(7))
        assertEquals(1, vault.search("keystore", 10).size)
        vault.rekey(PadKeyProvider(7))
        val reopened = openVault(path, PadKeyProvider(7))
        assertEquals("kept under the Keystore", reopened.listEntries(10, null, null, null, null).entries[0].body)
        assertFalse(Files.readAllBytes(dir.resolve("v/wrapped.key")).decodeToString().contains("kept"))
        reopened.wipe()
        assertThrows<TendException.VaultNotFound> { runBlocking(dispatcher) { openVault(path, PadKeyProvider(7)) } }
    }

    @Test
    fun `an exception's message is the core's own text`() = journey {
        assertEquals("wrong key or passphrase", TendException.WrongKey().message)
        assertEquals("journal entry not found", TendException.NotFound("journal entry").message)
        assertEquals("timed out", TransportFailure.TimedOut().message)
        val vault = member("Alice")
        val missing = assertThrows<TendException.NotFound> { runBlocking(dispatcher) { vault.recipientNamed("Nobody") } }
        assertEquals(missing.toString(), missing.message)
        assertFalse(missing.message!!.contains("="), missing.message)
        val weak = assertThrows<TendException.WeakPassphrase> { RecoveryRequesting().save("alice") }
        assertTrue(weak.message!!.startsWith("that passphrase is too easy to guess."), weak.message)
    }

    @Test
    fun `records are values, changed only by copy`() {
        val records = listOf(
            SyncSummary::class.java, Parcel::class.java, // tend-ffi's
            Entry::class.java, Occurrence::class.java, Reminder::class.java, CareRequest::class.java,
            Settings::class.java, PulseTotals::class.java, // the core's
        )
        for (record in records) {
            val fields = record.declaredFields.filter { !java.lang.reflect.Modifier.isStatic(it.modifiers) }
            assertTrue(fields.isNotEmpty(), record.name)
            assertTrue(fields.all { java.lang.reflect.Modifier.isFinal(it.modifiers) }, "${record.name} has a var")
        }
        val changed = entry("A walk by the canal", mood = 4).copy(mood = 2u)
        assertEquals("A walk by the canal", changed.body)
        assertEquals(2u.toUByte(), changed.mood)
    }

    @Test
    fun `journal, search and insights`() = journey {
        val vault = member("Alice")
        vault.addEntry(entry("Painted a heron by the canal", mood = 4, feelings = listOf("calm")))
        vault.addEntry(entry("Long shift, tired", mood = 2, feelings = listOf("tired")))
        val hits = vault.search("her", 10)
        assertEquals(1, hits.size)
        assertTrue(hits[0].snippet.any { it.matched && it.text.lowercase() == "heron" })
        val insights = vault.insights(null, null)
        assertEquals(2uL, insights.counts.entries)
        assertEquals(2uL, insights.counts.entriesWithMood)
        assertEquals(listOf("awful", "bad", "okay", "good", "great"), vault.moodScale().map { it.label })
        val backup = vault.exportJournal("a long backup passphrase")
        assertFalse(backup.decodeToString(throwOnInvalidSequence = false).contains("heron"))
        val other = member("Bob")
        assertEquals(2uL, other.importJournal(backup, "a long backup passphrase").added)
    }

    @Test
    fun `two members swap cards, compare safety numbers and share an entry`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val bobAtAlice = alice.addComrade(bob.myCard(), null)
        val aliceAtBob = bob.addComrade(alice.myCard(), null)
        assertEquals(alice.safetyNumber(bobAtAlice.id), bob.safetyNumber(aliceAtBob.id))
        assertEquals(71, alice.safetyNumber(bobAtAlice.id).length)
        assertTrue(alice.markVerified(bobAtAlice.id).verified)
        // Ending an identity conflict takes the card their phone shows, and only theirs.
        assertEquals(null, aliceAtBob.identityConflictAt)
        assertTrue(bob.resolveIdentityConflict(aliceAtBob.id, alice.myCard()).verified)
        assertThrows<TendException.Invalid> { runBlocking(dispatcher) { bob.resolveIdentityConflict(aliceAtBob.id, bob.myCard()) } }

        val written = alice.addEntry(entry("The heron came back"))
        val sealed = alice.shareEntry(written.id, listOf(Recipient.Comrade(bobAtAlice.id)), "for you")
        assertTrue(sealed.armored().startsWith("-----BEGIN AGE ENCRYPTED FILE-----"))
        val opened = bob.openEnvelope(sealed.armored().toByteArray())
        assertEquals("Alice", opened.sender.name)
        assertEquals("journal.entry", opened.kind)
        val shared = bob.sharedWithMe()
        assertEquals("The heron came back", shared[0].body)
        assertEquals("for you", shared[0].note)
        assertEquals(0, bob.listEntries(10, null, null, null, null).entries.size)

        val replay = assertThrows<TendException.Envelope> { runBlocking(dispatcher) { bob.openEnvelope(sealed.bytes) } }
        assertEquals(EnvelopeError.Replayed, replay.problem)
        val tampered = sealed.bytes.copyOf().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
        val refused = assertThrows<TendException.Envelope> { runBlocking(dispatcher) { bob.openEnvelope(tampered) } }
        assertEquals(EnvelopeError.Tampered, refused.problem)
    }

    @Test
    fun `a member takes her identity back on a new phone with her recovery words`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        assertNull(alice.recoverySetUpAt())
        val words = alice.setUpRecovery()
        assertEquals(12, words.split(" ").size)
        assertNotNull(alice.recoverySetUpAt())
        val again = assertThrows<TendException.Recovery> { runBlocking(dispatcher) { alice.setUpRecovery() } }
        assertEquals(RecoveryError.ALREADY_SET_UP, again.problem)
        val aliceAtBob = bob.addComrade(alice.myCard(), null)
        bob.markVerified(aliceAtBob.id)

        val phone = member("Alice again")
        phone.setUpRecovery()
        val statement = phone.replacementStatement(words)
        assertTrue(statement.startsWith("TENDR:"))
        val recovered = bob.acceptReplacement(statement)
        assertEquals(aliceAtBob.id, recovered.id)
        assertTrue(recovered.verified)
        assertNotNull(recovered.recoveredAt)
        val once = assertThrows<TendException.Recovery> { runBlocking(dispatcher) { bob.acceptReplacement(statement) } }
        assertEquals(RecoveryError.NO_SUCH_COMRADE, once.problem)
        val wrong = assertThrows<TendException.Recovery> {
            runBlocking(dispatcher) { phone.replacementStatement("not twelve words at all") }
        }
        assertEquals(RecoveryError.WRONG_WORDS, wrong.problem)
    }

    @Test
    fun `a whole-vault backup becomes the same member on a new phone`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val bobAtAlice = alice.addComrade(bob.myCard(), null)
        bob.addComrade(alice.myCard(), null)
        alice.markVerified(bobAtAlice.id)
        alice.addEntry(entry("Saw a kingfisher"))
        alice.addRelay("ws://127.0.0.1:9/")
        val file = dir.resolve("alice.tendbackup").toString()
        val passphrase = "heron lantern under the river bridge"
        val made = alice.writeBackup(file, BackupSeal.Passphrase(passphrase))
        assertTrue(made.databaseBytes > 0uL)

        val newPhone = dir.resolve("new phone").toString()
        val wrong = BackupOpener.Passphrase("not the passphrase at all, sorry")
        assertThrows<TendException.WrongKey> { runBlocking(dispatcher) { restoreVault(newPhone, file, wrong, PadKeyProvider(9)) } }
        val moved = restoreVault(newPhone, file, BackupOpener.Passphrase(passphrase), PadKeyProvider(9))
        assertEquals(alice.myCard(), moved.myCard())
        assertTrue(moved.comrades().single().verified)
        assertEquals("Saw a kingfisher", moved.listEntries(10, null, null, null, null).entries.single().body)
        val sealed = bob.shareEntry(bob.addEntry(entry("For the new phone")).id,
            listOf(Recipient.Comrade(bob.comrades().single().id)), null)
        assertEquals("Bob", moved.openEnvelope(sealed.bytes).sender.name)

        // The old phone, at its next sync, learns the new one took over.
        assertNull(moved.retirement())
        val transport = MemoryTransport()
        val now = SyncOptions(retryNow = true, delayBudget = java.time.Duration.ZERO)
        moved.syncWith(transport, now)
        assertTrue(alice.syncWith(transport, now).retired)
        assertNotNull(alice.retirement())
        assertThrows<TendException.Retired> { runBlocking(dispatcher) { alice.addEntry(entry("On the old phone")) } }
        assertFalse(moved.syncWith(transport, now).retired)

        Files.write(dir.resolve("not a backup"), "hello".toByteArray())
        val notOne = assertThrows<TendException.Backup> {
            runBlocking(dispatcher) { restoreVault(dir.resolve("other").toString(), dir.resolve("not a backup").toString(), wrong, PadKeyProvider(9)) }
        }
        assertEquals(BackupError.NOT_A_BACKUP, notOne.problem)
    }

    @Test
    fun `a vault moves phone to phone and the old phone retires`() = journey {
        val alice = member("Alice")
        alice.addEntry(entry("Saw a kingfisher"))
        // Issued now: a retired vault issues no card.
        val card = alice.myCard()
        val receiving = MoveReceiving(listOf("wss://relay.example.org"))
        assertTrue(receiving.code().startsWith("TENDM:"))
        assertEquals(receiving.shortCode(), moveShortCode(receiving.code()))
        val transport = MemoryTransport()
        assertFalse(receiving.fetchWith(transport))
        val sent = alice.sendMoveWith(receiving.code(), transport)
        assertTrue(sent.complete)
        assertTrue(sent.pieces >= 1)
        assertNotNull(alice.retirement())
        assertThrows<TendException.Retired> { runBlocking(dispatcher) { alice.addEntry(entry("After the move")) } }
        assertTrue(receiving.fetchWith(transport))
        val moved = receiving.restore(dir.resolve("new phone").toString(), PadKeyProvider(9))
        assertEquals(card, moved.myCard())
        assertEquals(card, alice.myCard())
        assertEquals("Saw a kingfisher", moved.listEntries(10, null, null, null, null).entries.single().body)
        assertThrows<TendException.Invalid> { runBlocking(dispatcher) { alice.sendMoveWith("TENDM:AAAA", transport) } }
    }

    @Test
    fun `custodians keep shares and a member with nothing left comes back through two`() = journey {
        val alice = member("Alice")
        val helpers = listOf(member("Bob"), member("Carol"), member("Dana"))
        val ids = helpers.map { helper ->
            helper.addComrade(alice.myCard(), null)
            alice.addComrade(helper.myCard(), null).id
        }
        alice.addEntry(entry("Saw a kingfisher"))
        val chosen = alice.chooseCustodians(2, ids)
        assertEquals(3, chosen.custodians.size)
        assertFalse(chosen.recoverable)
        val shares = alice.outbox()
        for (helper in helpers) {
            for (sealed in shares) runCatching { helper.openEnvelope(sealed.bytes) }
            assertEquals("Alice", helper.custodyHeld().single().owner)
            alice.openEnvelope(helper.outbox().first().bytes)
        }
        assertTrue(alice.custodyStatus()!!.recoverable)
        val folder = Files.createDirectory(dir.resolve("backups")).toString()
        alice.setAutomaticBackups(AutomaticBackups(folder, 7u, 3u, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"))
        val backup = alice.backUpIfDue()!!

        // Everything lost: a request, kept under the new vault's passphrase.
        val passphrase = "heron lantern under the river bridge"
        assertThrows<TendException.WeakPassphrase> { RecoveryRequesting().save("alice") }
        val saved = RecoveryRequesting().save(passphrase)
        val request = RecoveryRequesting.load(saved, passphrase)
        assertTrue(request.code().startsWith("TENDC:"))
        val releases = helpers.take(2).map { it.releaseCustodyShare(request.code(), null) }
        assertThrows<TendException.Invalid> { request.releasesSetAside(releases.take(1)) }
        assertEquals(0, request.releasesSetAside(releases))
        val back = request.recover(releases, backup, dir.resolve("alice again").toString(), PadKeyProvider(9))
        assertEquals(alice.myCard(), back.myCard())
        assertEquals("Saw a kingfisher", back.listEntries(10, null, null, null, null).entries.single().body)
    }

    @Test
    fun `deleting an entry takes its outbox copies, and the inbox deletes and clears`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val bobAtAlice = alice.addComrade(bob.myCard(), null)
        bob.addComrade(alice.myCard(), null)
        val to = listOf(Recipient.Comrade(bobAtAlice.id))
        val first = alice.addEntry(entry("The heron came back"))
        val opened = bob.openEnvelope(alice.shareEntry(first.id, to, null).bytes)
        assertEquals(1L, alice.deleteEntry(first.id))
        assertTrue(alice.outbox().none { it.messageId == opened.messageId })
        bob.deleteFromInbox(opened.messageId)
        assertTrue(bob.inbox(null).isEmpty())
        assertThrows<TendException.NotFound> { runBlocking(dispatcher) { bob.deleteFromInbox(opened.messageId) } }
        val second = alice.addEntry(entry("A kingfisher at dusk"))
        bob.openEnvelope(alice.shareEntry(second.id, to, null).bytes)
        assertEquals(1L, bob.clearSharedBefore(Instant.now().plusSeconds(1)))
        assertTrue(bob.sharedWithMe().isEmpty())
    }

    @Test
    fun `a care request goes from post to thanks, and Carol sees only covered`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val carol = member("Carol")
        val circle = alice.createCircle("Eastside")
        for (helper in listOf(bob, carol)) {
            val added = alice.addComrade(helper.myCard(), null)
            helper.addComrade(alice.myCard(), null)
            alice.addToCircle(circle.id, added.id)
        }
        assertEquals(Recipient.Circle(circle.id), alice.recipientNamed("eastside"))
        assertThrows<TendException.NotFound> { runBlocking(dispatcher) { alice.recipientNamed("Nobody") } }
        val posted = alice.postCareRequest(NewCareRequest(
            category = CareCategory.RIDE, title = "A ride to the clinic", details = "10:00",
            urgency = CareUrgency.TODAY, neededBy = null, expiresAt = null,
            location = "Eastside", onBehalfOf = null, to = listOf(Recipient.Circle(circle.id)),
        ))
        assertEquals(CareRole.REQUESTER, posted.request.role)
        val offers = listOf(bob to "I can drive", carol to "By bus?").map { (helper, message) ->
            helper.openEnvelope(posted.sealed.bytes)
            assertEquals("A ride to the clinic", helper.requestsICouldHelpWith(10).single().title)
            val offered = helper.offerHelp(posted.request.id, message, null)
            alice.openEnvelope(offered.sealed.bytes)
            offered.offer
        }
        assertEquals(listOf("Bob", "Carol"), alice.myCareRequests().single().offers.map { it.helper?.name })

        val sent = alice.acceptOffer(offers[0].id)
        sent.forEach { bob.openEnvelope(it.bytes) }
        carol.openEnvelope(sent[1].bytes)
        val atCarol = carol.careRequest(posted.request.id)
        assertTrue(atCarol.isCovered())
        assertEquals(null, atCarol.helper?.name)
        assertEquals(OfferState.ACCEPTED, bob.myCommitments().single().offer.state)

        val twice = assertThrows<TendException.Care> { runBlocking(dispatcher) { alice.acceptOffer(offers[1].id) } }
        assertEquals(CareError.InvalidTransition(CareAction.ACCEPT, CareStatus.MATCHED), twice.problem)

        bob.fulfilCare(posted.request.id).forEach { alice.openEnvelope(it.bytes) }
        bob.openEnvelope(alice.thankHelper(posted.request.id, "Thank you").bytes)
        assertEquals(CareStatus.FULFILLED, alice.careRequest(posted.request.id).status)
        assertEquals("Thank you", bob.careRequest(posted.request.id).thanks)
        assertEquals(30, alice.careRetentionDays())
    }

    @Test
    fun `a care request and its offer travel through the app's own transport`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        // Nothing listens on port 9: only the app's transport below carries anything.
        for (v in listOf(alice, bob)) v.addRelay("ws://127.0.0.1:9/")
        assertEquals(listOf("ws://127.0.0.1:9"), alice.relays())
        val bobAtAlice = alice.addComrade(bob.myCard(), null)
        bob.addComrade(alice.myCard(), null)
        val transport = MemoryTransport()
        // Adding a comrade sends them my card; once each has fetched the
        // other's, what they send each other is sealed post-quantum.
        val meeting = SyncOptions(retryNow = true, delayBudget = java.time.Duration.ZERO)
        assertFalse(alice.comrades().single().postQuantum)
        for (v in listOf(alice, bob, alice)) v.syncWith(transport, meeting)
        assertTrue(alice.comrades().single().postQuantum)
        assertTrue(bob.comrades().single().postQuantum)
        val forgottenOnMeeting = transport.forgotten.size
        val posted = alice.postCareRequest(NewCareRequest(
            category = CareCategory.FOOD, title = "Soup on Thursday", details = "",
            urgency = CareUrgency.THIS_WEEK, neededBy = null, expiresAt = null,
            location = null, onBehalfOf = null, to = listOf(Recipient.Comrade(bobAtAlice.id)),
        ))
        assertEquals(java.time.Duration.ofSeconds(10), defaultSyncOptions().delayBudget)
        assertFalse(defaultSyncOptions().retryNow)
        val asked = SyncOptions(retryNow = true, delayBudget = java.time.Duration.ZERO)
        val background = defaultSyncOptions().copy(delayBudget = java.time.Duration.ofMillis(200))
        val sent = alice.syncWith(transport, asked)
        assertEquals(1, sent.relays.single().sent)
        val fetched = bob.syncWith(transport, background)
        assertEquals(listOf("care.request"), fetched.opened.map { it.kind })
        assertEquals(forgottenOnMeeting + 1, transport.forgotten.size)
        bob.offerHelp(posted.request.id, "I'll cook", null)
        bob.syncWith(transport, background)
        assertEquals(1, alice.syncWith(transport, background).relays.single().received)
        assertEquals(listOf("Bob"), alice.myCareRequests().single().offers.map { it.helper?.name })

        // Tend's own client, with nothing listening: reported, not thrown.
        val down = alice.sync(asked)
        assertTrue(down.relays.single().unreachable != null)
        alice.addRelay("wss://relay.example.org")
        alice.removeRelay("wss://relay.example.org")
        assertEquals(listOf("ws://127.0.0.1:9"), alice.relays())
        assertNull(alice.relayProxy())
        alice.setRelayProxy("socks5://127.0.0.1:9050")
        assertEquals("socks5://127.0.0.1:9050", alice.relayProxy())
        val noProxy = assertThrows<TendException.Invalid> { runBlocking(dispatcher) { alice.setRelayProxy("127.0.0.1:9050") } }
        assertEquals("proxy address", noProxy.field)
        alice.setRelayProxy(null)
        assertNull(alice.relayProxy())
        val bad = assertThrows<TendException.Invalid> { runBlocking(dispatcher) { alice.addRelay("https://x.org") } }
        assertEquals("relay address", bad.field)
        assertTrue(relayIsUnencryptedOffThisMachine("ws://relay.example.org"))
        assertFalse(relayIsUnencryptedOffThisMachine("ws://127.0.0.1:9"))
        assertFalse(relayIsUnencryptedOffThisMachine("wss://relay.example.org"))
    }

    @Test
    fun `the monthly gathering and its reminders`() = journey {
        val vault = member("Alice")
        val preset = monthlyRestorativeGathering(LocalDate.parse("2026-11-26"), "America/Chicago", "Community room")
        val gathering = vault.addGathering(preset)
        assertEquals(LocalDateTime.parse("2026-12-05T18:00:00"), gathering.startsAt)
        assertEquals("FREQ=MONTHLY;BYDAY=1SA", gathering.recurrence)
        val now = Instant.ofEpochMilli(1_795_694_400_000L) // 2026-11-26T12:00:00Z
        val reminders = vault.nextReminders(now, 4)
        assertEquals(4, reminders.size)
        assertTrue(reminders.zipWithNext().all { (a, b) -> a.firesAt <= b.firesAt })
        assertEquals(Instant.ofEpochMilli(1_795_910_400_000L), reminders[0].firesAt) // 2026-11-28 18:00 CST, a week before
        vault.cancelOccurrence(gathering.id, LocalDateTime.parse("2026-12-05T18:00"))
        assertEquals(LocalDateTime.parse("2027-01-02T18:00:00"), vault.nextReminders(now, 1)[0].originalStart)
        val ics = vault.exportIcs(gathering.id)
        assertTrue(ics.contains("EXDATE;TZID=America/Chicago:20261205T180000"))
        val starts = expandRecurrence(LocalDateTime.parse("2026-03-07T02:30"), "America/Chicago", "FREQ=DAILY", 2)
        assertEquals(Instant.ofEpochMilli(1_772_958_600_000L), starts[1]) // 03:30 CDT: the gap moves it forward
    }

    @Test
    fun `an invited member answers and sees only totals`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val bobAtAlice = alice.addComrade(bob.myCard(), null)
        bob.addComrade(alice.myCard(), null)
        val gathering = alice.addGathering(monthlyRestorativeGathering(LocalDate.parse("2026-12-01"), "America/Chicago", "Community room"))
        val invite = alice.inviteToGathering(gathering.id, listOf(Recipient.Comrade(bobAtAlice.id)))
        bob.openEnvelope(invite.bytes)
        val copy = bob.gatherings().single()
        assertEquals("Alice", copy.organiser)
        val refused = assertThrows<TendException.Gathering> { runBlocking(dispatcher) { bob.cancelOccurrence(copy.id, LocalDateTime.parse("2026-12-05T18:00")) } }
        assertEquals(GatheringError.NOT_ORGANISER, refused.problem)

        bob.rsvp(copy.id, LocalDateTime.parse("2026-12-05T18:00"), Rsvp.GOING, "bringing: wool")
        val opened = alice.openEnvelope(bob.outbox().first().bytes)
        assertEquals(listOf("Bob"), alice.attendees(gathering.id, LocalDateTime.parse("2026-12-05T18:00")).map { it.name })
        val totals = alice.outbox().first { it.messageId == opened.replies.single() }
        bob.openEnvelope(totals.bytes)
        val first = bob.occurrences(Instant.ofEpochMilli(1_796_000_000_000L), Instant.ofEpochMilli(1_797_000_000_000L)).first() // 2026-11-29 to 12-11
        assertEquals(AttendanceTotals(1u, 0u), first.totals)

        // The greeting round: Bob's line is sealed until Alice opens it.
        val evening = LocalDateTime.parse("2026-12-05T18:00")
        bob.writeRoundLine(copy.id, evening, "I'll sketch the heron")
        alice.openEnvelope(bob.outbox().first().bytes)
        val before = alice.round(gathering.id, evening)
        assertEquals(1u, before.written)
        assertTrue(before.lines.isEmpty())
        alice.writeRoundLine(gathering.id, evening, null)
        alice.openRound(gathering.id, evening)
        val released = bob.openEnvelope(alice.outbox().first().bytes)
        alice.openEnvelope(bob.outbox().first { it.messageId == released.replies.single() }.bytes)
        val atAlice = alice.round(gathering.id, evening)
        val atBob = bob.round(copy.id, evening)
        assertEquals(atAlice.check, atBob.check)
        assertEquals(atAlice.lines.map { it.said }, atBob.lines.map { it.said })
        assertTrue(atAlice.lines.any { it.said == Said.Line("I'll sketch the heron") })
        assertTrue(atBob.lines.any { it.said == Said.Pass })
    }

    /** Carries every envelope in the members' outboxes to those it names, until none is left. */
    private suspend fun carryAll(members: Map<String, TendVault>) {
        val carried = mutableSetOf<Pair<String, String>>()
        do {
            var moved = false
            for (from in members.values) for (s in from.outbox().reversed()) for (r in s.recipients) {
                if (carried.add(s.messageId to r.name)) {
                    moved = true
                    runCatching { members.getValue(r.name).openEnvelope(s.bytes) }
                }
            }
        } while (moved)
    }

    @Test
    fun `a collective's pulse shows totals only, and a red answer may ask for a check-in`() = journey {
        val alice = member("Alice")
        val others = listOf("Bob", "Carol", "Dana").map { member(it) }
        val ids = others.map { m ->
            m.addComrade(alice.myCard(), null)
            alice.addComrade(m.myCard(), null).id
        }
        val founded = alice.createCollective("Riverside Care", null)
        alice.addCollectiveMembers(founded.id, ids)
        val everyone = mapOf("Alice" to alice, "Bob" to others[0], "Carol" to others[1], "Dana" to others[2])
        carryAll(everyone)
        val refused = assertThrows<TendException.Pulse> { runBlocking(dispatcher) { others[0].startPulse(founded.id, null) } }
        assertEquals(PulseError.NotASteward, refused.problem)
        val started = alice.startPulse(founded.id, 24)
        assertEquals(PulseState.Open, started.pulse.state)
        carryAll(everyone)
        val answers = listOf(
            Capacity.GREEN to PulseMood.Given(4u),
            Capacity.RED to PulseMood.Given(2u),
            Capacity.YELLOW to PulseMood.Skip,
            Capacity.GREEN to PulseMood.Given(5u),
        )
        val bobAtDana = others[2].comrades().single { it.name == "Bob" }.id
        for ((vault, answer) in everyone.values.zip(answers)) {
            vault.answerPulse(started.pulse.id, PulseAnswer(answer.first, answer.second, null))
        }
        val late = assertThrows<TendException.Pulse> {
            runBlocking(dispatcher) { alice.answerPulse(started.pulse.id, PulseAnswer(Capacity.GREEN, PulseMood.Skip, null)) }
        }
        assertEquals(PulseError.AlreadyAnswered, late.problem)
        carryAll(everyone)
        for ((name, vault) in everyone) {
            val state = vault.pulses(founded.id).single().state
            val totals = (state as PulseState.Shown).totals
            assertEquals(listOf(4u, 2u, 1u, 1u, 3u), listOf(totals.answers, totals.green, totals.yellow, totals.red, totals.moods), name)
            assertNull(totals.meanMood, "three moods, four needed")
        }
        // A red answer in the next pulse asks Bob alone to check in.
        val next = alice.startPulse(founded.id, null)
        carryAll(everyone)
        val sealed = others[2].answerPulse(
            next.pulse.id,
            PulseAnswer(Capacity.RED, PulseMood.Skip, CheckIn(bobAtDana, "Could you call tonight?")),
        )
        assertTrue(sealed.any { s -> s.recipients.singleOrNull()?.name == "Bob" })
        carryAll(everyone)
        assertEquals(1, others[0].inbox("pulse.check_in").size)
        assertTrue(alice.inbox("pulse.check_in").isEmpty())
    }

    @Test
    fun `a collective is founded, joined and agreed, and a member's refused change is typed`() = journey {
        val alice = member("Alice")
        val bob = member("Bob")
        val carol = member("Carol")
        val heard = carol.changes.produceIn(this)
        val ids = listOf(bob, carol).map { m ->
            m.addComrade(alice.myCard(), null)
            alice.addComrade(m.myCard(), null).id
        }
        val founded = alice.createCollective("Riverside Care", alice.starterAgreements())
        assertTrue(founded.iAmSteward)
        assertEquals(1u, founded.agreements?.version)
        for (id in ids) {
            val added = alice.addCollectiveMembers(founded.id, listOf(id))
            for ((m, name) in listOf(bob to "Bob", carol to "Carol")) {
                added.sealed.filter { s -> s.recipients.any { it.name == name } }
                    .forEach { m.openEnvelope(it.bytes) }
            }
        }
        assertEquals(Change.COLLECTIVES, withTimeout(10_000) { heard.receiveAsFlow().first { it == Change.COLLECTIVES } })
        heard.cancel()
        val atCarol = carol.collective(founded.id)
        assertEquals(3u, atCarol.members)
        assertEquals(3u, atCarol.agreements?.notYetAccepted?.plus(1u))
        val bobAtCarol = carol.collectiveMembers(founded.id).single { it.name == "Bob" }
        assertFalse(bobAtCarol.verified)
        assertEquals("Alice", carol.comrades().single { it.name == "Bob" }.introduced?.byName)

        val refused = assertThrows<TendException.Collective> {
            runBlocking(dispatcher) { bob.renameCollective(founded.id, "Bob's club") }
        }
        assertEquals(CollectiveError.Refused(Refusal.NOT_A_STEWARD), refused.problem)
        val accepted = carol.acceptAgreements(founded.id)
        accepted.sealed.forEach { alice.openEnvelope(it.bytes) }
        assertEquals(1u, alice.collective(founded.id).agreements?.notYetAccepted)
        carol.leaveCollective(founded.id).forEach { alice.openEnvelope(it.bytes) }
        assertTrue(carol.collectives().isEmpty())
        assertEquals(2u, alice.collective(founded.id).members)

        // Dana, a stranger, comes with a pass and sees only the face.
        val dana = member("Dana")
        val pass = alice.issueVisitorPass(founded.id, java.time.Duration.ofDays(30))
        assertTrue(pass.text.startsWith("TENDPASS:"))
        val joined = dana.joinWithPass(pass.text)
        val opened = alice.openEnvelope(joined.sealed.bytes)
        alice.outbox().filter { it.messageId in opened.replies }.forEach { dana.openEnvelope(it.bytes) }
        val visit = dana.visitedCollectives().single()
        assertEquals("Alice", visit.host)
        assertTrue(visit.agreements!!.contains("greeting round"))
        assertTrue(dana.collectives().isEmpty())
        // The monthly gathering welcomes visitors: Dana gets it from Alice, her host, and answers.
        val gathering = alice.addGathering(monthlyRestorativeGathering(LocalDate.parse("2026-12-01"), "America/Chicago", "Community room"))
        alice.inviteCollectiveToGathering(gathering.id, founded.id, true)
            .filter { s -> s.recipients.any { it.name == "Dana" } }
            .forEach { dana.openEnvelope(it.bytes) }
        val copy = dana.gatherings().single()
        assertTrue(copy.visitorsWelcome)
        assertEquals(founded.id, copy.collective)
        val before = dana.outbox().map { it.messageId }
        dana.rsvp(copy.id, LocalDateTime.parse("2026-12-05T18:00"), Rsvp.GOING, null)
        alice.openEnvelope(dana.outbox().single { it.messageId !in before }.bytes)
        val coming = alice.attendees(gathering.id, LocalDateTime.parse("2026-12-05T18:00")).single()
        assertEquals("Dana", coming.name)
        assertTrue(coming.visitor)
        // Two members: one vouch, a steward's, is enough.
        val danaAtAlice = alice.comrades().single { it.name == "Dana" }
        alice.vouchForVisitor(founded.id, danaAtAlice.id).forEach { runCatching { dana.openEnvelope(it.bytes) } }
        assertTrue(dana.collective(founded.id).iAmMember)
        assertTrue(dana.visitedCollectives().isEmpty())
        val expired = assertThrows<TendException.Invalid> {
            runBlocking(dispatcher) { alice.issueVisitorPass(founded.id, java.time.Duration.ofDays(91)) }
        }
        assertEquals("valid for", expired.field)
        // A review day for the agreements comes through the same reminders as gatherings.
        val day = LocalDate.now().plusDays(30)
        alice.setCollectiveSettings(founded.id, alice.collective(founded.id).settings.copy(reviewAgreementsOn = day))
        assertEquals(day, alice.collective(founded.id).settings.reviewAgreementsOn)
        val review = alice.nextReminders(Instant.now(), 20).filter { it.collective == founded.id }
        assertEquals(2, review.size)
        assertNull(review[0].gathering)
    }

    @Test
    fun `every public error is typed`() = journey {
        val vault = member("Alice")
        assertThrows<TendException.Invalid> { runBlocking(dispatcher) { vault.addEntry(entry("x".repeat(300_000))) } }
        assertThrows<TendException.NotFound> { runBlocking(dispatcher) { vault.getEntry("01890000-0000-7000-8000-000000000000") } }
        assertThrows<TendException.Invalid> { runBlocking(dispatcher) { vault.getEntry("not an id") } }
        val card = assertThrows<TendException.Card> { cardName("TEND:AAAAAAAA") }
        assertNotEquals(null, card.problem)
        assertThrows<TendException.VaultExists> { runBlocking(dispatcher) { createVault(dir.resolve("Alice").toString(), PadKeyProvider(1)) } }
        assertThrows<TendException.NameTaken> { runBlocking(dispatcher) { vault.createCircle("Care"); vault.createCircle("care") } }
        val bad = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:tomorrow\nEND:VEVENT\nEND:VCALENDAR\n"
        val import = assertThrows<TendException.Import> { runBlocking(dispatcher) { vault.importIcs(bad, "UTC") } }
        assertEquals(4L, import.line)
        assertThrows<TendException.Invalid> { expandRecurrence(LocalDateTime.parse("2026-01-01T10:00"), "Mars/Base", null, 1) }
        val failing = object : KeyProvider {
            override fun wrapKey(key: ByteArray): ByteArray = throw TendException.KeyProvider("no Keystore")
            override fun unwrapKey(wrapped: ByteArray): ByteArray = throw TendException.KeyProvider("no Keystore")
        }
        val refused = assertThrows<TendException.KeyProvider> { runBlocking(dispatcher) { createVault(dir.resolve("x").toString(), failing) } }
        assertEquals("no Keystore", refused.reason)
        assertFalse(Files.exists(dir.resolve("x/vault.db")), "nothing left behind")
    }

    @Test
    fun `a weak passphrase is refused, a generated one is taken`() = journey {
        val path = dir.resolve("p").toString()
        val weak = assertThrows<TendException.WeakPassphrase> { runBlocking(dispatcher) { createVaultWithPassphrase(path, "123456") } }
        assertTrue(weak.suggestion.isNotEmpty())
        assertFalse(Files.exists(dir.resolve("p/vault.db")), "nothing written")
        val words = generatePassphrase()
        assertEquals(7, words.split(" ").size)
        createVaultWithPassphrase(path, words).lock()
        openVaultWithPassphrase(path, words)
    }

    @Test
    fun `a passphrase and the device key together, and a duress passphrase that leaves nothing`() = journey {
        val path = dir.resolve("d").toString()
        val (real, duress) = generatePassphrase() to generatePassphrase()
        val vault = createVaultWithPassphraseAndDevice(path, real, PadKeyProvider(5))
        vault.addEntry(entry("behind two locks"))
        vault.lock()
        assertThrows<TendException.WrongUnlockMethod> { runBlocking(dispatcher) { vault.unlockWithPassphrase(real) } }
        assertThrows<TendException.KeyProvider> {
            runBlocking(dispatcher) { vault.unlockWithPassphraseAndDevice(real, PadKeyProvider(6).let { p ->
                object : KeyProvider by p { override fun unwrapKey(wrapped: ByteArray) = throw TendException.KeyProvider("locked") } }) }
        }
        vault.unlockWithPassphraseAndDevice(real, PadKeyProvider(5))
        assertEquals(1, vault.listEntries(10, null, null, null, null).entries.size)
        vault.setDuressPassphrase(real, duress)
        vault.lock()
        val forced = openVaultWithPassphraseAndDevice(path, duress, PadKeyProvider(5))
        assertEquals(0, forced.listEntries(10, null, null, null, null).entries.size, "an empty vault in its place")
        forced.lock()
        assertThrows<TendException.WrongKey> {
            runBlocking(dispatcher) { openVaultWithPassphraseAndDevice(path, real, PadKeyProvider(5)) }
        }
    }

    @Test
    fun `many coroutines at once, and every collector of the changes flow hears each change`() = journey {
        val vault = member("Alice")
        val first = vault.changes.produceIn(this)
        val second = vault.changes.produceIn(this)
        // Each collector subscribes when it starts; write until both hear.
        val listening = BooleanArray(2)
        while (!listening.all { it }) {
            vault.addEntry(entry("warming up"))
            listOf(first, second).forEachIndexed { i, heard ->
                if (!listening[i]) listening[i] = withTimeoutOrNull(100) { heard.receive() } != null
            }
        }
        // A notice is queued before the write returns: what is left is in the channels.
        for (heard in listOf(first, second)) while (withTimeoutOrNull(200) { heard.receive() } != null) {}

        (1..50).map { i ->
            async(Dispatchers.Default) {
                vault.addEntry(entry("entry $i"))
                vault.search("entry", 5)
            }
        }.awaitAll()
        for (heard in listOf(first, second)) {
            repeat(50) { assertEquals(Change.JOURNAL, withTimeout(10_000) { heard.receive() }) }
            assertNull(withTimeoutOrNull(200) { heard.receive() }, "one notice a write")
        }
        first.cancel()
        vault.addEntry(entry("after the first stopped"))
        assertEquals(Change.JOURNAL, withTimeout(10_000) { second.receive() })
        second.cancel()
        val bodies = vault.listEntries(200, null, null, null, null).entries.map { it.body }
        assertEquals(50, bodies.count { it.startsWith("entry ") })
    }
}

/**
 * Every suspend call of the suite again, resumed on whatever thread the core
 * completes it on: uniffi-rs#1901 saw such calls deadlock.
 */
class TendUnconfinedTest : TendTest() {
    override val dispatcher: CoroutineContext = Dispatchers.Unconfined
}
