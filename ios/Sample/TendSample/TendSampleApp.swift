import SwiftUI
import TendApple
import TendCore

/// Opens (or makes) a Keychain-protected vault, adds the monthly gathering
/// once, schedules its notifications and lists the next reminders.
@main
struct TendSampleApp: App {
    var body: some Scene {
        WindowGroup { RemindersView() }
    }
}

struct RemindersView: View {
    @State private var lines: [String] = ["Opening the vault…"]
    /// A minute in the background and the vault locks (its key dropped).
    @State private var backgroundLock: BackgroundLock?

    var body: some View {
        List(lines, id: \.self) { Text($0) }
            .task { await load() }
    }

    private func load() async {
        do {
            let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
                .appendingPathComponent("vault").path
            let keys = KeychainKeyProvider()
            let vault: TendVault
            do {
                vault = try await openVault(dir: dir, provider: keys)
            } catch TendError.VaultNotFound {
                vault = try await createVault(dir: dir, provider: keys)
                let today = ISO8601DateFormatter().string(from: Date()).prefix(10)
                _ = try await vault.addGathering(gathering: try monthlyRestorativeGathering(
                    from: String(today), timeZone: TimeZone.current.identifier, location: ""))
            }
            backgroundLock = BackgroundLock(vault: vault, delay: 60)
            try await NotificationScheduler().reschedule(vault: vault)
            let next = try await vault.nextReminders(now: Date(), count: 5)
            lines = next.map { "\($0.firesAt.formatted()) — \($0.title)" }
        } catch {
            lines = ["Could not open the vault: \(error)"]
        }
    }
}
