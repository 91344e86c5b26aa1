// swift-tools-version:5.9
// Wraps the Swift that uniffi generates (copied into Sources/ by test.sh or
// by ios/build-xcframework.sh) and the built library.
import PackageDescription

let package = Package(
    name: "TendCore",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [.library(name: "TendCore", targets: ["TendCore"])],
    targets: [
        .systemLibrary(name: "TendCoreFFI", path: "Sources/TendCoreFFI"),
        .target(name: "TendCore", dependencies: ["TendCoreFFI"], path: "Sources/TendCore"),
        .testTarget(name: "TendCoreTests", dependencies: ["TendCore"], path: "Tests/TendCoreTests"),
    ]
)
