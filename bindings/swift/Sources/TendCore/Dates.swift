import Foundation

// Instants cross the boundary as Unix milliseconds and lengths of time as
// whole seconds (core/uniffi.toml maps them to `Date` and `TimeInterval`).
// These conversions never trap: a value past Int64 is clamped, and the core
// then refuses it as out of range.

extension Date {
    /// A `Date` from the Unix milliseconds Tend uses for instants.
    public init(tendMilliseconds ms: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(ms) / 1000)
    }

    /// Unix milliseconds, as Tend takes instants.
    public var tendMilliseconds: Int64 {
        clampedInt64((timeIntervalSince1970 * 1000).rounded())
    }
}

/// Whole seconds, as Tend takes lengths of time.
public func tendWholeSeconds(_ interval: TimeInterval) -> Int64 {
    clampedInt64(interval.rounded())
}

private func clampedInt64(_ value: Double) -> Int64 {
    if value.isNaN { return 0 }
    if value >= Double(Int64.max) { return .max } // 2^63, one past the largest
    if value < Double(Int64.min) { return .min }
    return Int64(value)
}
