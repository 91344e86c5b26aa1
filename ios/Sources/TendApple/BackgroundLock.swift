#if canImport(UIKit)
import Foundation
import TendCore
import UIKit

/// Locks the vault a while after the app goes to the background, unless it
/// comes back sooner: TendCore's `AutoLock` (tested on Linux), fed
/// UIApplication's notifications. Keep it alive as long as the vault.
public final class BackgroundLock {
    private let autoLock: AutoLock
    private let center: NotificationCenter
    private var observers: [NSObjectProtocol] = []

    public init(vault: TendVault, delay: TimeInterval = 60, center: NotificationCenter = .default) {
        let autoLock = AutoLock(delay: delay) { vault.lock() }
        self.autoLock = autoLock
        self.center = center
        observers.append(center.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { _ in autoLock.enteredBackground() })
        observers.append(center.addObserver(
            forName: UIApplication.willEnterForegroundNotification, object: nil, queue: .main
        ) { _ in autoLock.enteredForeground() })
    }

    deinit {
        observers.forEach(center.removeObserver)
    }
}
#endif
