import Foundation

/// Which local notifications to add and remove so the pending set matches
/// the core's next reminders. iOS keeps at most 64 pending notifications per
/// app; the plan never asks for more than the room left. Platform-free, so
/// it is tested on Linux; `ios/` applies it with UNUserNotificationCenter.
public struct NotificationPlan: Equatable, Sendable {
    public struct Add: Equatable, Sendable {
        public let identifier: String
        public let fireAt: Date
        /// A gathering's, or else a collective's agreements review.
        public let aboutGathering: Bool
    }

    public let add: [Add]
    public let remove: [String]

    /// The most pending notifications iOS allows an app.
    public static let systemLimit = 64

    /// A stable identifier for one reminder of one occurrence, or of one review.
    public static func identifier(for reminder: Reminder) -> String {
        let about = reminder.gathering ?? "review.\(reminder.collective ?? "")"
        return "tend.\(about).\(reminder.originalStart).\(reminder.offset.days)d\(reminder.offset.minutes)m"
    }

    /// - Parameters:
    ///   - reminders: the core's next reminders, soonest first.
    ///   - pending: identifiers of Tend's notifications pending now.
    ///   - othersPending: the app's other pending notifications, which keep their room.
    public init(reminders: [Reminder], pending: Set<String>, othersPending: Int = 0) {
        let room = max(0, Self.systemLimit - othersPending)
        let wanted = reminders.prefix(room).map {
            Add(identifier: Self.identifier(for: $0), fireAt: $0.firesAt,
                aboutGathering: $0.gathering != nil)
        }
        let wantedIds = Set(wanted.map(\.identifier))
        add = wanted.filter { !pending.contains($0.identifier) }
        remove = pending.subtracting(wantedIds).sorted()
    }
}
