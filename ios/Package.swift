// swift-tools-version:5.9
// Tend for iOS: the XCFramework build-xcframework.sh makes (device and
// simulator slices of libtend_ffi with the C header), the generated Swift
// and Tend's Swift layer (both copied into build/Sources by the script), and
// the Apple-only pieces: a Keychain key provider and a notification scheduler.
import PackageDescription

let package = Package(
    name: "TendApple",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "TendCore", targets: ["TendCore"]),
        .library(name: "TendApple", targets: ["TendApple"]),
    ],
    targets: [
        .binaryTarget(name: "TendCoreFFI", path: "build/TendCoreFFI.xcframework"),
        .target(name: "TendCore", dependencies: ["TendCoreFFI"], path: "build/Sources/TendCore"),
        .target(name: "TendApple", dependencies: ["TendCore"], path: "Sources/TendApple"),
    ]
)
