import Foundation
import XCTest
@testable import TendCore

/// Stands in for the iOS Keychain: XOR with a secret pad, plus a tag.
final class PadKeyProvider: KeyProvider, @unchecked Sendable {
    let pad: UInt8
    init(_ pad: UInt8) { self.pad = pad }

    func wrapKey(key: Data) throws -> Data {
        Data(key.map { $0 ^ pad }) + Data("pad".utf8)
    }

    func unwrapKey(wrapped: Data) throws -> Data {
        guard wrapped.count > 3, wrapped.suffix(3) == Data("pad".utf8) else {
            throw TendError.KeyProvider(reason: "not ours")
        }
        return Data(wrapped.prefix(wrapped.count - 3).map { $0 ^ pad })
    }
}

func entry(_ body: String, mood: UInt8? = nil, feelings: [String] = []) -> NewEntry {
    NewEntry(writtenAt: nil, mood: mood, feelings: feelings,
             activities: [], title: nil, body: body)
}

/// An app's own transport: a relay kept in memory, by mailbox.
final class MemoryTransport: DeliveryTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: [String: [Arrival]] = [:]
    private(set) var forgotten: [String] = []

    func publish(relay: String, parcel: Parcel) throws -> String? {
        lock.lock(); defer { lock.unlock() }
        waiting[parcel.mailbox, default: []].append(
            Arrival(ids: ["\(relay)/\(parcel.messageId)/\(parcel.mailbox)"], envelope: parcel.envelope))
        return nil
    }

    func fetch(relay: String, mailbox: String, since: Date?) throws -> [Arrival] {
        lock.lock(); defer { lock.unlock() }
        return waiting[mailbox] ?? []
    }

    func forget(relay: String, mailbox: String, ids: [String]) {
        lock.lock(); defer { lock.unlock() }
        forgotten += ids
        waiting[mailbox]?.removeAll { $0.ids.contains(where: ids.contains) }
    }
}

// Unchecked: Linux's XCTest wraps each async test in a closure that
// captures the case; each test runs alone on its own instance.
final class TendCoreTests: XCTestCase, @unchecked Sendable {
    var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func member(_ name: String) async throws -> TendVault {
        let vault = try await createVault(dir: dir.appendingPathComponent(name).path,
                                          provider: PadKeyProvider(UInt8(name.count)))
        try await vault.setDisplayName(name: name)
        return vault
    }

    /// What SwiftUI's ForEach reads: compiles only for Identifiable records.
    func identities<T: Identifiable>(_ records: [T]) -> [T.ID] { records.map(\.id) }

    func expectError<T>(_ body: () async throws -> T, _ check: (TendError) -> Bool,
                        file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as TendError {
            XCTAssertTrue(check(error), "unexpected \(error)", file: file, line: line)
        } catch {
            XCTFail("untyped error \(error)", file: file, line: line)
        }
    }

    func testAnErrorDescribesItselfInTheCoresOwnText() async throws {
        XCTAssertEqual(TendError.WrongKey.localizedDescription, "wrong key or passphrase")
        XCTAssertEqual("\(TendError.NotFound(what: "journal entry"))", "journal entry not found")
        XCTAssertEqual(TransportFailure.TimedOut.errorDescription, "timed out")
        let vault = try await member("Alice")
        do {
            _ = try await vault.recipientNamed(name: "Nobody")
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.localizedDescription.hasSuffix("not found"), error.localizedDescription)
        }
    }

    func testAVaultMadeWithASwiftKeyProviderOpensOnlyWithIt() async throws {
        let path = dir.appendingPathComponent("v").path
        let vault = try await createVault(dir: path, provider: PadKeyProvider(7))
        _ = try await vault.addEntry(entry: entry("kept under the Keychain"))
        vault.lock()
        await expectError({ try await vault.search(query: "kept", limit: 10) }) {
            if case .Locked = $0 { return true } else { return false }
        }
        await expectError({ try await openVault(dir: path, provider: PadKeyProvider(9)) }) {
            if case .WrongKey = $0 { return true } else { return false }
        }
        try await vault.unlock(provider: PadKeyProvider(7))
        try await vault.rekey(provider: PadKeyProvider(7))
        let reopened = try await openVault(dir: path, provider: PadKeyProvider(7))
        let page = try await reopened.listEntries(limit: 10, after: nil, from: nil, to: nil, tag: nil)
        XCTAssertEqual(page.entries.first?.body, "kept under the Keychain")
        XCTAssertEqual(identities(page.entries), page.entries.map { $0.id })
        try await reopened.wipe()
        await expectError({ try await openVault(dir: path, provider: PadKeyProvider(7)) }) {
            if case .VaultNotFound = $0 { return true } else { return false }
        }
    }

    func testAPassphraseWithTheDeviceKeyAndADuressPassphraseThatLeavesNothing() async throws {
        let path = dir.appendingPathComponent("d").path
        let (real, duress) = (generatePassphrase(), generatePassphrase())
        let vault = try await createVaultWithPassphraseAndDevice(dir: path, passphrase: real, provider: PadKeyProvider(5))
        _ = try await vault.addEntry(entry: entry("behind two locks"))
        vault.lock()
        await expectError({ try await vault.unlockWithPassphrase(passphrase: real) }) {
            if case .WrongUnlockMethod = $0 { return true } else { return false }
        }
        try await vault.unlockWithPassphraseAndDevice(passphrase: real, provider: PadKeyProvider(5))
        try await vault.setDuressPassphrase(passphrase: real, duress: duress)
        vault.lock()
        let forced = try await openVaultWithPassphraseAndDevice(dir: path, passphrase: duress, provider: PadKeyProvider(5))
        let page = try await forced.listEntries(limit: 10, after: nil, from: nil, to: nil, tag: nil)
        XCTAssertTrue(page.entries.isEmpty, "an empty vault in its place")
        forced.lock()
        await expectError({ try await openVaultWithPassphraseAndDevice(dir: path, passphrase: real, provider: PadKeyProvider(5)) }) {
            if case .WrongKey = $0 { return true } else { return false }
        }
    }

    func testJournalSearchAndInsights() async throws {
        let vault = try await member("Alice")
        _ = try await vault.addEntry(entry: entry("Painted a heron by the canal", mood: 4, feelings: ["calm"]))
        _ = try await vault.addEntry(entry: entry("Long shift, tired", mood: 2))
        let hits = try await vault.search(query: "her", limit: 10)
        XCTAssertEqual(hits.count, 1)
        XCTAssertTrue(hits[0].snippet.contains { $0.matched && $0.text.lowercased() == "heron" })
        let insights = try await vault.insights(from: nil, to: nil)
        XCTAssertEqual(insights.counts.entries, 2)
        XCTAssertEqual(insights.counts.entriesWithMood, 2)
    }

    func testTwoMembersSwapCardsAndShareAnEntry() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        let aliceAtBob = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        let a = try await alice.safetyNumber(comradeId: bobAtAlice.id)
        let b = try await bob.safetyNumber(comradeId: aliceAtBob.id)
        XCTAssertEqual(a, b)
        // Ending an identity conflict takes the card their phone shows, and only theirs.
        XCTAssertNil(aliceAtBob.identityConflictAt)
        let resolved = try await bob.resolveIdentityConflict(comradeId: aliceAtBob.id, card: try await alice.myCard())
        XCTAssertTrue(resolved.verified)
        await expectError({ _ = try await bob.resolveIdentityConflict(comradeId: aliceAtBob.id, card: try await bob.myCard()) }) {
            if case .Invalid = $0 { return true } else { return false }
        }
        let written = try await alice.addEntry(entry: entry("The heron came back"))
        let sealed = try await alice.shareEntry(entryId: written.id, to: [.comrade(bobAtAlice.id)], note: "for you")
        let opened = try await bob.openEnvelope(envelope: Data(sealed.armored().utf8))
        XCTAssertEqual(opened.sender.name, "Alice")
        let shared = try await bob.sharedWithMe()
        XCTAssertEqual(shared.first?.body, "The heron came back")
        await expectError({ try await bob.openEnvelope(envelope: sealed.bytes) }) {
            if case .Envelope(problem: .replayed) = $0 { return true } else { return false }
        }
        var tampered = sealed.bytes
        tampered[tampered.count / 2] ^= 1
        await expectError({ try await bob.openEnvelope(envelope: tampered) }) {
            if case .Envelope(problem: .tampered) = $0 { return true } else { return false }
        }
    }

    func testACareRequestIsOfferedAcceptedAndFulfilled() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        _ = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        let posted = try await alice.postCareRequest(request: NewCareRequest(
            category: .food, title: "Soup for the weekend", details: "", urgency: .thisWeek,
            neededBy: nil, expiresAt: nil, location: nil, onBehalfOf: "Noor",
            to: [.comrade(bobAtAlice.id)]))
        _ = try await bob.openEnvelope(envelope: posted.sealed.bytes)
        let asked = try await bob.requestsICouldHelpWith(limit: 10)
        XCTAssertEqual(asked.first?.onBehalfOf, "Noor")
        let offered = try await bob.offerHelp(requestId: posted.request.id, message: "I'll cook", canHelpAt: nil)
        _ = try await alice.openEnvelope(envelope: offered.sealed.bytes)
        for sealed in try await alice.acceptOffer(offerId: offered.offer.id) {
            _ = try await bob.openEnvelope(envelope: sealed.bytes)
        }
        let atBob = try await bob.careRequest(requestId: posted.request.id)
        XCTAssertEqual(atBob.role, .helper)
        await expectError({ try await bob.acceptOffer(offerId: offered.offer.id) }) {
            if case .Care(problem: .notRequester(action: .accept)) = $0 { return true } else { return false }
        }
        for sealed in try await bob.fulfilCare(requestId: posted.request.id) {
            _ = try await alice.openEnvelope(envelope: sealed.bytes)
        }
        let atAlice = try await alice.careRequest(requestId: posted.request.id)
        XCTAssertEqual(atAlice.status, .fulfilled)
    }

    /// Carries every envelope in the members' outboxes to those it names, until none is left.
    func carryAll(_ members: [String: TendVault]) async throws {
        var carried = Set<String>()
        var moved = true
        while moved {
            moved = false
            for from in members.values {
                for sealed in try await from.outbox().reversed() {
                    for r in sealed.recipients where carried.insert("\(sealed.messageId) \(r.name)").inserted {
                        moved = true
                        _ = try? await members[r.name]!.openEnvelope(envelope: sealed.bytes)
                    }
                }
            }
        }
    }

    func testACollectivesPulseShowsTotalsOnlyAndARedAnswerMayAskForACheckIn() async throws {
        let alice = try await member("Alice")
        var everyone = ["Alice": alice]
        var ids: [String] = []
        for name in ["Bob", "Carol", "Dana"] {
            let m = try await member(name)
            _ = try await m.addComrade(card: try await alice.myCard(), name: nil)
            ids.append(try await alice.addComrade(card: try await m.myCard(), name: nil).id)
            everyone[name] = m
        }
        let founded = try await alice.createCollective(name: "Riverside Care", agreements: nil)
        _ = try await alice.addCollectiveMembers(collectiveId: founded.id, comradeIds: ids)
        try await carryAll(everyone)
        await expectError({ try await everyone["Bob"]!.startPulse(collectiveId: founded.id, openForHours: nil) }) {
            if case .Pulse(problem: .notASteward) = $0 { return true } else { return false }
        }
        let started = try await alice.startPulse(collectiveId: founded.id, openForHours: 24)
        try await carryAll(everyone)
        let answers: [(String, Capacity, PulseMood)] = [
            ("Alice", .green, .given(value: 4)), ("Bob", .red, .given(value: 2)),
            ("Carol", .yellow, .skip), ("Dana", .green, .given(value: 5)),
        ]
        for (name, capacity, mood) in answers {
            _ = try await everyone[name]!.answerPulse(
                pulseId: started.pulse.id, answer: PulseAnswer(capacity: capacity, mood: mood, checkIn: nil))
        }
        await expectError({
            try await alice.answerPulse(pulseId: started.pulse.id,
                                        answer: PulseAnswer(capacity: .green, mood: .skip, checkIn: nil))
        }) {
            if case .Pulse(problem: .alreadyAnswered) = $0 { return true } else { return false }
        }
        try await carryAll(everyone)
        for (name, vault) in everyone {
            guard case .shown(let totals) = try await vault.pulses(collectiveId: founded.id)[0].state else {
                return XCTFail("\(name) shows no totals")
            }
            XCTAssertEqual([totals.answers, totals.green, totals.yellow, totals.red, totals.moods], [4, 2, 1, 1, 3])
            XCTAssertNil(totals.meanMood, "three moods, four needed")
        }
        // A red answer in the next pulse asks Bob alone to check in.
        let next = try await alice.startPulse(collectiveId: founded.id, openForHours: nil)
        try await carryAll(everyone)
        let dana = everyone["Dana"]!
        let bobAtDana = try await dana.comrades().first { $0.name == "Bob" }!.id
        _ = try await dana.answerPulse(pulseId: next.pulse.id, answer: PulseAnswer(
            capacity: .red, mood: .skip, checkIn: CheckIn(comrade: bobAtDana, note: "Could you call tonight?")))
        try await carryAll(everyone)
        let asked = try await everyone["Bob"]!.inbox(kind: "pulse.check_in")
        XCTAssertEqual(asked.count, 1)
        let notAsked = try await alice.inbox(kind: "pulse.check_in")
        XCTAssertTrue(notAsked.isEmpty)
    }

    func testACollectiveIsFoundedJoinedAndAgreed() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        _ = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        let founded = try await alice.createCollective(name: "Riverside Care", agreements: alice.starterAgreements())
        XCTAssertTrue(founded.iAmSteward)
        let added = try await alice.addCollectiveMembers(collectiveId: founded.id, comradeIds: [bobAtAlice.id])
        for sealed in added.sealed {
            _ = try await bob.openEnvelope(envelope: sealed.bytes)
        }
        let atBob = try await bob.collective(collectiveId: founded.id)
        XCTAssertEqual(atBob.members, 2)
        XCTAssertEqual(atBob.agreements?.notYetAccepted, 1)
        XCTAssertFalse(atBob.iAmSteward)
        let members = try await bob.collectiveMembers(collectiveId: founded.id)
        XCTAssertEqual(members.map { $0.steward }, [true, false])
        await expectError({ try await bob.renameCollective(collectiveId: founded.id, name: "Bob's club") }) {
            if case .Collective(problem: .refused(refusal: .notASteward)) = $0 { return true } else { return false }
        }
        for sealed in try await bob.acceptAgreements(collectiveId: founded.id).sealed {
            _ = try await alice.openEnvelope(envelope: sealed.bytes)
        }
        let atAlice = try await alice.collective(collectiveId: founded.id)
        XCTAssertEqual(atAlice.agreements?.notYetAccepted, 0)

        let dana = try await member("Dana")
        let pass = try await alice.issueVisitorPass(collectiveId: founded.id, validFor: 30 * 24 * 3600)
        let joined = try await dana.joinWithPass(pass: pass.text)
        let opened = try await alice.openEnvelope(envelope: joined.sealed.bytes)
        for item in try await alice.outbox() where opened.replies.contains(item.messageId) {
            _ = try await dana.openEnvelope(envelope: item.bytes)
        }
        let visits = try await dana.visitedCollectives()
        XCTAssertEqual(visits.first?.host, "Alice")
        XCTAssertEqual(visits.first?.agreementsVersion, 1)
        let danasCollectives = try await dana.collectives()
        XCTAssertTrue(danasCollectives.isEmpty)

        // The monthly gathering welcomes visitors: Dana gets it from Alice, her host, and answers.
        let gathering = try await alice.addGathering(gathering: try monthlyRestorativeGathering(
            from: "2026-12-01", timeZone: "America/Chicago", location: "Community room"))
        let invited = try await alice.inviteCollectiveToGathering(
            id: gathering.id, collectiveId: founded.id, visitorsWelcome: true)
        for sealed in invited where sealed.recipients.contains(where: { $0.name == "Dana" }) {
            _ = try await dana.openEnvelope(envelope: sealed.bytes)
        }
        let copies = try await dana.gatherings()
        XCTAssertEqual(copies.first?.visitorsWelcome, true)
        let before = try await dana.outbox().map { $0.messageId }
        try await dana.rsvp(id: copies[0].id, originalStart: "2026-12-05T18:00", response: .going, note: nil)
        for item in try await dana.outbox() where !before.contains(item.messageId) {
            _ = try await alice.openEnvelope(envelope: item.bytes)
        }
        let coming = try await alice.attendees(id: gathering.id, originalStart: "2026-12-05T18:00")
        XCTAssertEqual(coming.map { $0.visitor }, [true])

        // A review day for the agreements comes through the same reminders as gatherings.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let day = formatter.string(from: Date().addingTimeInterval(30 * 86_400))
        var settings = try await alice.collective(collectiveId: founded.id).settings
        settings.reviewAgreementsOn = day
        _ = try await alice.setCollectiveSettings(collectiveId: founded.id, settings: settings)
        let reminders = try await alice.nextReminders(now: Date(), count: 20)
        let review = reminders.filter { $0.collective == founded.id }
        XCTAssertEqual(review.count, 2)
        XCTAssertNil(review.first?.gathering)
        let plan = NotificationPlan(reminders: review, pending: [])
        XCTAssertEqual(plan.add.map { $0.aboutGathering }, [false, false])
    }

    func testACareRequestTravelsThroughTheAppsOwnTransport() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        // Nothing listens on port 9: only the app's transport carries anything.
        for v in [alice, bob] { try await v.addRelay(url: "ws://127.0.0.1:9/") }
        let relays = try await alice.relays()
        XCTAssertEqual(relays, ["ws://127.0.0.1:9"])
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        _ = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        let transport = MemoryTransport()
        // Adding a comrade sends them my card; once each has fetched the
        // other's, what they send each other is sealed post-quantum.
        let meeting = SyncOptions(retryNow: true, delayBudget: 0)
        let before = try await alice.comrades()
        XCTAssertEqual(before.map { $0.postQuantum }, [false])
        for v in [alice, bob, alice] { _ = try await v.syncWith(transport: transport, options: meeting) }
        let after = try await alice.comrades()
        XCTAssertEqual(after.map { $0.postQuantum }, [true])
        XCTAssertEqual(identities(after), before.map { $0.id })
        let forgottenOnMeeting = transport.forgotten.count
        let posted = try await alice.postCareRequest(request: NewCareRequest(
            category: .food, title: "Soup on Thursday", details: "", urgency: .thisWeek,
            neededBy: nil, expiresAt: nil, location: nil, onBehalfOf: nil,
            to: [.comrade(bobAtAlice.id)]))
        XCTAssertEqual(defaultSyncOptions().delayBudget, 10)
        let asked = SyncOptions(retryNow: true, delayBudget: 0)
        var background = defaultSyncOptions()
        background.delayBudget = 0.2
        let sent = try await alice.syncWith(transport: transport, options: asked)
        XCTAssertEqual(sent.relays.first?.sent, 1)
        let fetched = try await bob.syncWith(transport: transport, options: background)
        XCTAssertEqual(fetched.opened.map { $0.kind }, ["care.request"])
        XCTAssertEqual(transport.forgotten.count, forgottenOnMeeting + 1)
        _ = try await bob.offerHelp(requestId: posted.request.id, message: "I'll cook", canHelpAt: nil)
        _ = try await bob.syncWith(transport: transport, options: background)
        let back = try await alice.syncWith(transport: transport, options: background)
        XCTAssertEqual(back.relays.first?.received, 1)
        let down = try await alice.sync(options: asked)
        XCTAssertNotNil(down.relays.first?.unreachable)
        await expectError({ try await alice.addRelay(url: "https://x.org") }) {
            if case .Invalid(field: "relay address", problem: _) = $0 { return true } else { return false }
        }
    }

    func testAMemberTakesHerIdentityBackWithHerRecoveryWords() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let unset = try await alice.recoverySetUpAt()
        XCTAssertNil(unset)
        let words = try await alice.setUpRecovery()
        XCTAssertEqual(words.split(separator: " ").count, 12)
        await expectError({ try await alice.setUpRecovery() }) {
            if case .Recovery(problem: .alreadySetUp) = $0 { return true } else { return false }
        }
        let aliceAtBob = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        _ = try await bob.markVerified(comradeId: aliceAtBob.id)
        let phone = try await member("Alice again")
        _ = try await phone.setUpRecovery()
        let statement = try await phone.replacementStatement(words: words)
        XCTAssertTrue(statement.hasPrefix("TENDR:"))
        let recovered = try await bob.acceptReplacement(statement: statement)
        XCTAssertEqual(recovered.id, aliceAtBob.id)
        XCTAssertTrue(recovered.verified)
        XCTAssertNotNil(recovered.recoveredAt)
        await expectError({ try await bob.acceptReplacement(statement: statement) }) {
            if case .Recovery(problem: .noSuchComrade) = $0 { return true } else { return false }
        }
    }

    func testAWholeVaultBackupBecomesTheSameMemberOnANewPhone() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        let aliceAtBob = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        _ = try await alice.markVerified(comradeId: bobAtAlice.id)
        try await alice.addRelay(url: "ws://127.0.0.1:9/")
        let file = dir.appendingPathComponent("alice.tendbackup").path
        let passphrase = "heron lantern under the river bridge"
        let made = try await alice.writeBackup(path: file, seal: .passphrase(passphrase: passphrase))
        XCTAssertGreaterThan(made.databaseBytes, 0)
        let newPhone = dir.appendingPathComponent("new phone").path
        await expectError({
            try await restoreVault(dir: newPhone, backupPath: file,
                                   opener: .passphrase(passphrase: "not the passphrase at all, sorry"),
                                   provider: PadKeyProvider(9))
        }) {
            if case .WrongKey = $0 { return true } else { return false }
        }
        let moved = try await restoreVault(dir: newPhone, backupPath: file,
                                           opener: .passphrase(passphrase: passphrase),
                                           provider: PadKeyProvider(9))
        let card = try await moved.myCard()
        let old = try await alice.myCard()
        XCTAssertEqual(card, old)
        let comrades = try await moved.comrades()
        XCTAssertEqual(comrades.first?.verified, true)
        let written = try await bob.addEntry(entry: entry("For the new phone"))
        let sealed = try await bob.shareEntry(entryId: written.id, to: [.comrade(aliceAtBob.id)], note: nil)
        let opened = try await moved.openEnvelope(envelope: sealed.bytes)
        XCTAssertEqual(opened.sender.name, "Bob")
        // The old phone, at its next sync, learns the new one took over.
        let retiredBefore = try await moved.retirement()
        XCTAssertNil(retiredBefore)
        let transport = MemoryTransport()
        let now = SyncOptions(retryNow: true, delayBudget: 0)
        _ = try await moved.syncWith(transport: transport, options: now)
        let told = try await alice.syncWith(transport: transport, options: now)
        XCTAssertTrue(told.retired)
        let retired = try await alice.retirement()
        XCTAssertNotNil(retired)
        await expectError({ try await alice.addEntry(entry: entry("On the old phone")) }) {
            if case .Retired = $0 { return true } else { return false }
        }
        let notOne = dir.appendingPathComponent("not a backup")
        try Data("hello".utf8).write(to: notOne)
        await expectError({
            try await restoreVault(dir: self.dir.appendingPathComponent("other").path, backupPath: notOne.path,
                                   opener: .passphrase(passphrase: passphrase), provider: PadKeyProvider(9))
        }) {
            if case .Backup(problem: .notABackup) = $0 { return true } else { return false }
        }
    }

    func testAVaultMovesPhoneToPhoneAndTheOldPhoneRetires() async throws {
        let alice = try await member("Alice")
        _ = try await alice.addEntry(entry: entry("Saw a kingfisher"))
        // Issued now: a retired vault issues no card.
        let old = try await alice.myCard()
        let receiving = try MoveReceiving(relays: ["wss://relay.example.org"])
        XCTAssertTrue(receiving.code().hasPrefix("TENDM:"))
        XCTAssertEqual(receiving.shortCode(), try moveShortCode(code: receiving.code()))
        let transport = MemoryTransport()
        let early = try await receiving.fetchWith(transport: transport)
        XCTAssertFalse(early)
        let sent = try await alice.sendMoveWith(code: receiving.code(), transport: transport)
        XCTAssertTrue(sent.complete)
        await expectError({ try await alice.addEntry(entry: entry("After the move")) }) {
            if case .Retired = $0 { return true } else { return false }
        }
        let came = try await receiving.fetchWith(transport: transport)
        XCTAssertTrue(came)
        let moved = try await receiving.restore(dir: dir.appendingPathComponent("new phone").path,
                                                provider: PadKeyProvider(9))
        let card = try await moved.myCard()
        XCTAssertEqual(card, old)
    }

    func testAMemberWithNothingLeftComesBackThroughTwoCustodians() async throws {
        let alice = try await member("Alice")
        var helpers: [TendVault] = []
        var ids: [String] = []
        for name in ["Bob", "Carol", "Dana"] {
            let helper = try await member(name)
            _ = try await helper.addComrade(card: try await alice.myCard(), name: nil)
            ids.append(try await alice.addComrade(card: try await helper.myCard(), name: nil).id)
            helpers.append(helper)
        }
        _ = try await alice.addEntry(entry: entry("Saw a kingfisher"))
        let chosen = try await alice.chooseCustodians(threshold: 2, comradeIds: ids)
        XCTAssertEqual(chosen.custodians.count, 3)
        XCTAssertFalse(chosen.recoverable)
        let shares = try await alice.outbox()
        for helper in helpers {
            for sealed in shares { _ = try? await helper.openEnvelope(envelope: sealed.bytes) }
            let held = try await helper.custodyHeld()
            XCTAssertEqual(held.map { $0.owner }, ["Alice"])
            _ = try await alice.openEnvelope(envelope: try await helper.outbox()[0].bytes)
        }
        let status = try await alice.custodyStatus()
        XCTAssertEqual(status?.recoverable, true)
        let folder = dir.appendingPathComponent("backups")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try await alice.setAutomaticBackups(plan: AutomaticBackups(
            folder: folder.path, everyDays: 7, keep: 3,
            recipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"))
        let backup = try await alice.backUpIfDue()!

        let passphrase = "heron lantern under the river bridge"
        await expectError({ try RecoveryRequesting().save(passphrase: "alice") }) {
            if case .WeakPassphrase = $0 { return true } else { return false }
        }
        let request = try RecoveryRequesting.load(
            saved: try RecoveryRequesting().save(passphrase: passphrase), passphrase: passphrase)
        XCTAssertTrue(request.code().hasPrefix("TENDC:"))
        var releases: [Data] = []
        for helper in helpers.prefix(2) {
            releases.append(try await helper.releaseCustodyShare(code: request.code(), ownerKey: nil))
        }
        await expectError({ try request.releasesSetAside(releases: Array(releases.prefix(1))) }) {
            if case .Invalid = $0 { return true } else { return false }
        }
        let back = try await request.recover(releases: releases, backupPath: backup,
                                             dir: dir.appendingPathComponent("alice again").path,
                                             provider: PadKeyProvider(9))
        let card = try await back.myCard()
        let old = try await alice.myCard()
        XCTAssertEqual(card, old)
    }

    func testTheGreetingRoundIsSealedUntilItOpensAndInOneOrder() async throws {
        let alice = try await member("Alice")
        let bob = try await member("Bob")
        let bobAtAlice = try await alice.addComrade(card: try await bob.myCard(), name: nil)
        _ = try await bob.addComrade(card: try await alice.myCard(), name: nil)
        let gathering = try await alice.addGathering(gathering: try monthlyRestorativeGathering(
            from: "2026-12-01", timeZone: "America/Chicago", location: "Community room"))
        let invite = try await alice.inviteToGathering(id: gathering.id, to: [.comrade(bobAtAlice.id)])
        _ = try await bob.openEnvelope(envelope: invite.bytes)
        let copy = try await bob.gatherings()[0]
        let evening = "2026-12-05T18:00"
        try await bob.rsvp(id: copy.id, originalStart: evening, response: .going, note: nil)
        _ = try await alice.openEnvelope(envelope: try await bob.outbox()[0].bytes)

        try await bob.writeRoundLine(id: copy.id, originalStart: evening, line: "I'll sketch the heron")
        _ = try await alice.openEnvelope(envelope: try await bob.outbox()[0].bytes)
        let before = try await alice.round(id: gathering.id, originalStart: evening)
        XCTAssertEqual(before.written, 1)
        XCTAssertTrue(before.lines.isEmpty)
        try await alice.writeRoundLine(id: gathering.id, originalStart: evening, line: nil)
        try await alice.openRound(id: gathering.id, originalStart: evening)
        let released = try await bob.openEnvelope(envelope: try await alice.outbox()[0].bytes)
        for item in try await bob.outbox() where released.replies.contains(item.messageId) {
            _ = try await alice.openEnvelope(envelope: item.bytes)
        }
        let atAlice = try await alice.round(id: gathering.id, originalStart: evening)
        let atBob = try await bob.round(id: copy.id, originalStart: evening)
        XCTAssertEqual(atAlice.check, atBob.check)
        XCTAssertEqual(atAlice.lines.map { $0.said }, atBob.lines.map { $0.said })
        XCTAssertTrue(atAlice.lines.contains { $0.said == .line(text: "I'll sketch the heron") })
        XCTAssertTrue(atBob.lines.contains { $0.said == .pass })
    }

    func testTheMonthlyGatheringAndItsReminders() async throws {
        let vault = try await member("Alice")
        let preset = try monthlyRestorativeGathering(from: "2026-11-26", timeZone: "America/Chicago", location: "")
        let gathering = try await vault.addGathering(gathering: preset)
        XCTAssertEqual(gathering.startsAt, "2026-12-05T18:00:00")
        let reminders = try await vault.nextReminders(now: Date(timeIntervalSince1970: 1_795_694_400), count: 4)
        XCTAssertEqual(reminders.count, 4)
        XCTAssertEqual(reminders[0].firesAt, Date(timeIntervalSince1970: 1_795_910_400))
        XCTAssertEqual(Date(tendMilliseconds: 1_234).tendMilliseconds, 1_234)
        let starts = try expandRecurrence(startsAt: "2026-03-07T02:30", timeZone: "America/Chicago", rule: "FREQ=DAILY", count: 2)
        XCTAssertEqual(starts[1], Date(timeIntervalSince1970: 1_772_958_600))
    }

    func testTheNotificationPlanKeepsWithinIOSLimitAndFollowsChanges() async throws {
        let vault = try await member("Alice")
        for zone in ["Europe/Berlin", "America/Chicago", "Australia/Sydney"] {
            var weekly = try monthlyRestorativeGathering(from: "2026-11-26", timeZone: zone, location: "")
            weekly.recurrence = "FREQ=WEEKLY"
            _ = try await vault.addGathering(gathering: weekly)
        }
        let now = Date(timeIntervalSince1970: 1_795_694_400)
        let reminders = try await vault.nextReminders(now: now, count: 100)
        let first = NotificationPlan(reminders: reminders, pending: [], othersPending: 4)
        XCTAssertEqual(first.add.count, 60, "64 less the app's other 4")
        XCTAssertTrue(first.remove.isEmpty)
        XCTAssertEqual(first.add.map(\.fireAt), first.add.map(\.fireAt).sorted())

        // A week later: passed ones go, new ones come, the rest stay.
        let pending = Set(first.add.map(\.identifier))
        let later = try await vault.nextReminders(now: now + 7 * 86_400, count: 100)
        let second = NotificationPlan(reminders: later, pending: pending, othersPending: 4)
        XCTAssertFalse(second.remove.isEmpty)
        XCTAssertEqual(second.add.count, second.remove.count)
        XCTAssertEqual(pending.subtracting(second.remove).union(second.add.map(\.identifier)).count, 60)
    }

    func testTheVaultLocksAfterTheDelayInTheBackgroundNotIfTheMemberComesBack() async throws {
        let vault = try await member("Alice")
        var scheduled: [(TimeInterval, @Sendable () -> Void, Bool)] = []
        let autoLock = AutoLock(delay: 30, schedule: { seconds, work in
            scheduled.append((seconds, work, false))
            let index = scheduled.count - 1
            return { scheduled[index].2 = true }
        }, lock: { vault.lock() })

        autoLock.enteredBackground()
        autoLock.enteredForeground()
        XCTAssertEqual(scheduled.count, 1)
        XCTAssertEqual(scheduled[0].0, 30)
        XCTAssertTrue(scheduled[0].2, "coming back cancels the lock")
        XCTAssertFalse(vault.isLocked())

        autoLock.enteredBackground()
        XCTAssertFalse(scheduled[1].2)
        scheduled[1].1() // the delay passes
        XCTAssertTrue(vault.isLocked())
        await expectError({ try await vault.search(query: "anything", limit: 1) }) {
            if case .Locked = $0 { return true } else { return false }
        }
    }

    func testPublicErrorsAreTyped() async throws {
        let vault = try await member("Alice")
        await expectError({ try await vault.getEntry(id: "not an id") }) {
            if case .Invalid = $0 { return true } else { return false }
        }
        XCTAssertThrowsError(try cardName(card: "TEND:AAAAAAAA")) { error in
            guard case TendError.Card = error else { return XCTFail("\(error)") }
        }
        let bad = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:tomorrow\nEND:VEVENT\nEND:VCALENDAR\n"
        await expectError({ try await vault.importIcs(text: bad, defaultZone: "UTC") }) {
            if case .Import(line: 4, problem: _) = $0 { return true } else { return false }
        }
    }

    func testManyTasksAtOnceAndEveryChangesStreamHearsEachChange() async throws {
        let vault = try await member("Alice")
        // Two watchers, each its own stream; each counts 50 journal notices.
        let first = vault.changes, second = vault.changes
        let watchers = [first, second].map { stream in
            Task { () -> Int in
                var journal = 0
                for await change in stream where change == .journal {
                    journal += 1
                    if journal == 50 { break }
                }
                return journal
            }
        }
        // The streams subscribe as they are made, before any write.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1...50 {
                group.addTask { _ = try await vault.addEntry(entry: entry("entry \(i)")) }
            }
            try await group.waitForAll()
        }
        for watcher in watchers {
            let heard = await watcher.value
            XCTAssertEqual(heard, 50)
        }
        let page = try await vault.listEntries(limit: 100, after: nil, from: nil, to: nil, tag: nil)
        XCTAssertEqual(page.entries.count, 50)
    }
}
