// The AAR: cargo-ndk builds libtend_ffi.so for three ABIs into jniLibs, and
// uniffi generates the Kotlin (library mode) into the build folder.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

val repoRoot = rootProject.projectDir.parentFile

// The AAR's version is the core's: [workspace.package] in Cargo.toml.
val tendVersion: String = repoRoot.resolve("Cargo.toml").readLines()
    .dropWhile { it.trim() != "[workspace.package]" }
    .first { it.trim().startsWith("version") }
    .substringAfter('"').substringBefore('"')
val jniOut = layout.buildDirectory.dir("rust/jniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")

android {
    namespace = "app.tend.android"
    compileSdk = 35
    // r28 links 16 KB-aligned by default; bindings/ffi/build.rs asks for it
    // anyway, for any NDK a developer has.
    ndkVersion = "28.0.13004108"
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].jniLibs.srcDir(jniOut)
    sourceSets["main"].java.srcDir(generatedKotlin)
    // Tend's Kotlin layer over the generated bindings (the changes flow).
    sourceSets["main"].java.srcDir(repoRoot.resolve("bindings/kotlin/src/main/kotlin"))
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    publishing {
        singleVariant("release") {
            withSourcesJar()
            withJavadocJar()
        }
    }
}

// `./gradlew :tend:publishReleasePublicationToLocalRepository` writes
// app.tend:tend-android with its POM, sources and docs jars to build/repo;
// a release adds its own repository here. JVM unit tests take
// app.tend:tend-libs-for-tests (bindings/kotlin/libs-for-tests).
publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "app.tend"
            artifactId = "tend-android"
            version = tendVersion
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("Tend for Android")
                description.set("Tend's core for Android apps: the native library for three ABIs, its Kotlin bindings, and the Keystore key provider, reminder scheduler and auto-lock.")
                url.set("https://example.invalid/tend") // Cargo.toml's repository, until Tend has a public home
                licenses {
                    license {
                        name.set("AGPL-3.0-or-later")
                        url.set("https://www.gnu.org/licenses/agpl-3.0.txt")
                    }
                }
                developers {
                    developer { name.set("The Tend developers") }
                }
            }
        }
    }
    repositories {
        maven {
            name = "local"
            url = uri(rootProject.layout.buildDirectory.dir("repo"))
        }
    }
}

kotlin {
    jvmToolchain(17)
}

val cargoNdk by tasks.registering(Exec::class) {
    description = "Builds libtend_ffi.so for arm64-v8a, armeabi-v7a and x86_64"
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "--platform", "26",
        "-o", jniOut.get().asFile.path,
        "build", "--profile", "mobile", "-p", "tend-ffi",
    )
}

val generateBindings by tasks.registering(Exec::class) {
    description = "Generates the Kotlin bindings from the host build of the library"
    workingDir = repoRoot
    commandLine("cargo", "build", "--release", "-p", "tend-ffi")
    doLast {
        project.exec {
            workingDir = repoRoot
            commandLine(
                "bindings/ffi/generate.sh", "kotlin", generatedKotlin.get().asFile.path, "release",
            )
        }
    }
}

tasks.named("preBuild") {
    dependsOn(cargoNdk, generateBindings)
}

dependencies {
    // JNA as an AAR: it carries JNA's own native libraries for each ABI.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
}
