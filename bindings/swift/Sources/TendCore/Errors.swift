import Foundation

// The core's own texts, as `localizedDescription` and `"\(error)"` show them.
// uniffi generates `description` from Rust's Display; these adopt it.

extension TendError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { description }
}

extension TransportFailure: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { description }
}
