import CryptoKit
import Foundation
import Security
import TendCore

/// Wraps the vault's data key with AES-256-GCM under a key kept in the iOS
/// Keychain, readable only while the device is unlocked and never synced or
/// backed up to another device (`WhenUnlockedThisDeviceOnly`).
public final class KeychainKeyProvider: KeyProvider, @unchecked Sendable {
    private let service: String
    private let account: String

    public init(service: String = "app.tend", account: String = "vault-key") {
        self.service = service
        self.account = account
    }

    public func wrapKey(key: Data) throws -> Data {
        let sealed = try AES.GCM.seal(key, using: try keychainKey(create: true))
        guard let combined = sealed.combined else { throw TendError.KeyProvider(reason: "sealing failed") }
        return combined
    }

    public func unwrapKey(wrapped: Data) throws -> Data {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(box, using: try keychainKey(create: false))
        } catch let error as TendError {
            throw error
        } catch {
            throw TendError.KeyProvider(reason: "the wrapped key does not open")
        }
    }

    private func keychainKey(create: Bool) throws -> SymmetricKey {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let data = item as? Data {
            return SymmetricKey(data: data)
        }
        guard create, status == errSecItemNotFound else {
            throw TendError.KeyProvider(reason: "Keychain status \(status)")
        }
        let key = SymmetricKey(size: .bits256)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            kSecValueData as String: key.withUnsafeBytes { Data($0) },
        ]
        let added = SecItemAdd(add as CFDictionary, nil)
        guard added == errSecSuccess else { throw TendError.KeyProvider(reason: "Keychain status \(added)") }
        return key
    }
}
