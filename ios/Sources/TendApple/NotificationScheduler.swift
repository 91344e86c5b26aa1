import Foundation
import TendCore
import UserNotifications

/// Keeps iOS's pending local notifications in step with the core's next
/// reminders, within the 64 iOS allows. The plan (what to add and remove) is
/// `NotificationPlan`, tested on Linux; this only applies it. Notifications
/// carry no titles: the lock screen learns nothing.
public final class NotificationScheduler {
    private let center: UNUserNotificationCenter

    public init(center: UNUserNotificationCenter = .current()) {
        self.center = center
    }

    public func reschedule(vault: TendVault, now: Date = Date()) async throws {
        let pending = await center.pendingNotificationRequests()
        let ours = Set(pending.map(\.identifier).filter { $0.hasPrefix("tend.") })
        let reminders = try await vault.nextReminders(now: now,
                                                     count: Int32(NotificationPlan.systemLimit))
        let plan = NotificationPlan(reminders: reminders, pending: ours,
                                    othersPending: pending.count - ours.count)
        center.removePendingNotificationRequests(withIdentifiers: plan.remove)
        for add in plan.add {
            let content = UNMutableNotificationContent()
            content.title = add.aboutGathering ? "A gathering is coming up" : "Agreements to review"
            content.body = "Open Tend to see which."
            let seconds = max(1, add.fireAt.timeIntervalSince(now))
            let trigger = UNTimeIntervalNotificationTrigger(timeInterval: seconds, repeats: false)
            try await center.add(UNNotificationRequest(identifier: add.identifier, content: content, trigger: trigger))
        }
    }
}
