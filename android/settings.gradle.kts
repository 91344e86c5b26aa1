// Tend for Android: the library module (an AAR with jniLibs and the generated
// Kotlin) and a minimal sample app. Needs the Android SDK and NDK, Gradle and
// cargo-ndk, none of which our build machines have; `check/` type-checks the
// Kotlin here against android-all instead. See README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "tend-android"
include(":tend", ":sample")
