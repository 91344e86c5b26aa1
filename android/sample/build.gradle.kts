plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.tend.sample"
    compileSdk = 35
    defaultConfig {
        applicationId = "app.tend.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }
    buildTypes {
        getByName("release") {
            // R8 shrinks with the library's consumer rules (ProGuard stands
            // in for it in android/check/shrink.sh); the native library's
            // line tables go to Play Console for crash reports, not the APK.
            isMinifyEnabled = true
            ndk { debugSymbolLevel = "FULL" }
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":tend"))
}
