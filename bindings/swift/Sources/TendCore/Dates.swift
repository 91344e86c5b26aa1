import Foundation

// Instants cross the boundary as Unix milliseconds; these give Swift `Date`s.

extension Date {
    /// A `Date` from the Unix milliseconds Tend uses for instants.
    public init(tendMilliseconds ms: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(ms) / 1000)
    }

    /// Unix milliseconds, as Tend takes instants.
    public var tendMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }
}

extension Occurrence {
    public var starts: Date { Date(tendMilliseconds: startsAt) }
    public var ends: Date { Date(tendMilliseconds: endsAt) }
}

extension Reminder {
    public var fires: Date { Date(tendMilliseconds: firesAt) }
}
