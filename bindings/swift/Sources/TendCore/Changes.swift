import Foundation

/// Feeds one `AsyncStream`; the core calls it on a background thread.
private final class StreamListener: ChangeListener, Sendable {
    private let continuation: AsyncStream<Change>.Continuation

    init(_ continuation: AsyncStream<Change>.Continuation) {
        self.continuation = continuation
    }

    func changed(what: Change) {
        continuation.yield(what)
    }
}

extension TendVault {
    /// What is saved from now on, for as long as the stream is iterated.
    /// Each stream holds a subscription of its own, so any number may watch;
    /// ending the iteration (or its task) cancels that subscription.
    public var changes: AsyncStream<Change> {
        AsyncStream { continuation in
            let subscription = subscribe(listener: StreamListener(continuation))
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }
}
