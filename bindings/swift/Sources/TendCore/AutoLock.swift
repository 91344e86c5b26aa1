import Foundation

/// Locks the vault once the app has been in the background for `delay`
/// seconds, unless it comes back sooner. Platform-free, so it is tested on
/// Linux: `ios/` feeds it UIApplication's background and foreground
/// notifications. `lock` is usually `vault.lock`: the core then drops its
/// key and its database connection.
public final class AutoLock: @unchecked Sendable {
    /// Runs `work` after `seconds`; returns what cancels it.
    public typealias Schedule = (_ seconds: TimeInterval, _ work: @escaping @Sendable () -> Void) -> () -> Void

    private let delay: TimeInterval
    private let schedule: Schedule
    private let lock: @Sendable () -> Void
    private let mutex = NSLock()
    private var pending: (() -> Void)?

    public init(delay: TimeInterval = 60, schedule: @escaping Schedule = AutoLock.onMainQueue,
                lock: @escaping @Sendable () -> Void) {
        self.delay = delay
        self.schedule = schedule
        self.lock = lock
    }

    public func enteredBackground() {
        mutex.lock(); defer { mutex.unlock() }
        pending?()
        pending = schedule(delay, lock)
    }

    public func enteredForeground() {
        mutex.lock(); defer { mutex.unlock() }
        pending?()
        pending = nil
    }

    /// The real clock: the main queue, after `seconds`.
    public static func onMainQueue(_ seconds: TimeInterval, _ work: @escaping @Sendable () -> Void) -> () -> Void {
        let item = DispatchWorkItem(block: work)
        DispatchQueue.main.asyncAfter(deadline: .now() + seconds, execute: item)
        return { item.cancel() }
    }
}
