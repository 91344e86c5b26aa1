// swift-tools-version:5.9
// Tend for iOS: the XCFramework build-xcframework.sh makes (device and
// simulator slices of libtend_ffi with the C header), the generated Swift,
// Tend's Swift layer and the privacy manifest (put in Sources/TendCore by
// the script), and the Apple-only pieces: a Keychain key provider and a
// notification scheduler.
import PackageDescription

// A release's XCFramework: package-release.sh writes its address and SwiftPM
// checksum here. Empty, the package takes build-xcframework.sh's local build.
let releaseURL = ""
let releaseChecksum = ""

let ffi: Target = releaseURL.isEmpty
    ? .binaryTarget(name: "TendCoreFFI", path: "build/TendCoreFFI.xcframework")
    : .binaryTarget(name: "TendCoreFFI", url: releaseURL, checksum: releaseChecksum)

let package = Package(
    name: "TendApple",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "TendCore", targets: ["TendCore"]),
        .library(name: "TendApple", targets: ["TendApple"]),
    ],
    targets: [
        ffi,
        .target(name: "TendCore", dependencies: ["TendCoreFFI"], path: "Sources/TendCore",
                resources: [.copy("PrivacyInfo.xcprivacy")]),
        .target(name: "TendApple", dependencies: ["TendCore"], path: "Sources/TendApple"),
    ]
)
