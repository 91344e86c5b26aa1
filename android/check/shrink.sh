#!/usr/bin/env bash
# Shrinks with the AAR's consumer rules (android/tend/consumer-rules.pro) as
# an app's R8 would, with ProGuard from Maven Central standing in for R8:
# 1. Android: the library, the sample and their dependencies against the
#    Android 15 framework. ProGuard fails on any unresolved reference.
# 2. JVM: the generated bindings and the Kotlin test suite, shrunk,
#    optimised and obfuscated; the suite then runs against the shrunk jar,
#    through the real library.
# Runs after bindings/kotlin/test.sh and android/check/check.sh, which
# compile what it shrinks; .ci/run runs it after both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../bindings/paths.sh"
kotlin="$root/bindings/kotlin"
work="$here/target/shrink"
rm -rf "$work"
mkdir -p "$work"
for compiled in "$here/target/classes" "$kotlin/target/classes" "$kotlin/target/test-classes"; do
  [ -d "$compiled" ] || { echo "shrink.sh: $compiled is missing; run check.sh and bindings/kotlin/test.sh first" >&2; exit 1; }
done

classpath() { # POM SCOPE OUT
  mvn -B -q -f "$1" -Dmaven.repo.local="$cache/m2" dependency:build-classpath \
    -DincludeScope="$2" -Dmdep.outputFile="$3" >/dev/null
}
classpath "$here/shrink/pom.xml" runtime "$work/tools.cp"
classpath "$here/pom.xml" runtime "$work/android.cp"
classpath "$here/pom.xml" provided "$work/framework.cp"
classpath "$kotlin/pom.xml" runtime "$work/jvm.cp"
classpath "$kotlin/pom.xml" test "$work/jvm-test.cp"

# R8 applies the rules a jar carries in META-INF; ProGuard is given them.
# Multi-release entries and module descriptors are not Android's.
jar_filter='(!META-INF/versions/**,!**/module-info.class)'
entries() { tr ':' '\n' <"$1"; echo; } # one jar a line, the last one too
injars() { # CLASSPATH_FILE → an -injars line per jar, its rules extracted
  entries "$1" | grep . | while read -r jar; do
    echo "-injars $jar$jar_filter"
    name="$(basename "$jar" .jar)"
    if unzip -Z1 "$jar" 'META-INF/com.android.tools/proguard/*.pro' >/dev/null 2>&1; then
      unzip -q -o -j "$jar" 'META-INF/com.android.tools/proguard/*.pro' -d "$work/rules/$name"
    elif unzip -Z1 "$jar" 'META-INF/proguard/*.pro' >/dev/null 2>&1; then
      unzip -q -o -j "$jar" 'META-INF/proguard/*.pro' -d "$work/rules/$name"
    fi
  done
}
# Each pass starts with no extracted rules and ends its config with these.
fresh_rules() { rm -rf "$work/rules"; mkdir -p "$work/rules"; }
app_rules() {
  echo "-include $here/shrink/app-defaults.pro"
  echo "-include $root/android/tend/consumer-rules.pro"
  find "$work/rules" -name '*.pro' | sed 's/^/-include /'
}

proguard() { # CONFIG LOG
  if ! java -cp "$(cat "$work/tools.cp")" proguard.ProGuard "@$1" >"$2" 2>&1; then
    grep -E 'Warning|Error|rror:' "$2" | head -n 40 >&2
    echo "shrink.sh: ProGuard failed; its log is $2" >&2
    exit 1
  fi
}

classes_under() { # JAR_OR_DIR PACKAGE_DIR
  if [ -d "$1" ]; then find "$1/$2" -name '*.class' | wc -l
  else unzip -Z1 "$1" | grep -c "^$2/.*\.class$" || true; fi
}

jmods="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/jmods"
[ -f "$jmods/java.base.jmod" ] || { echo "shrink.sh: no $jmods/java.base.jmod (a JDK, not a JRE, is needed)" >&2; exit 1; }

# 1. Android. AGP keeps each component the merged manifest names; so do we.
android_all="$(entries "$work/framework.cp" | grep /android-all-)"
fresh_rules
{
  echo "-injars $here/target/classes"
  injars "$work/android.cp"
  echo "-outjars $work/android.jar"
  # android-all holds the framework; the Java library Android has is about
  # these JDK modules (no java.awt: no java.desktop).
  echo "-libraryjars $android_all"
  for module in java.base java.logging java.sql java.xml; do
    echo "-libraryjars $jmods/$module.jmod(!**.jar;!module-info.class)"
  done
  app_rules
  sed -n 's/.*<\(activity\|receiver\|service\|provider\) android:name="\([^"]*\)".*/-keep class \2 { <init>(); }/p' \
    "$root"/android/*/src/main/AndroidManifest.xml
} >"$work/android.pro"
proguard "$work/android.pro" "$work/android.log"
echo "Android: shrunk against android-all 15 with no unresolved reference;" \
  "app.tend classes $(classes_under "$here/target/classes" app/tend) → $(classes_under "$work/android.jar" app/tend)"

# 2. JVM: the suite is the app; JUnit finds its tests by reflection.
stdlib="$(entries "$work/jvm.cp" | grep /kotlin-stdlib-)"
fresh_rules
{
  echo "-injars $kotlin/target/classes"
  echo "-injars $kotlin/target/test-classes"
  # JUnit's Kotlin helpers extend the Kotlin runtime's classes, so that
  # stays whole here, as a library; the Android pass shrinks it.
  injars <(entries "$work/jvm.cp" | grep -v /kotlin-stdlib-)
  echo "-outjars $work/jvm.jar"
  echo "-libraryjars $stdlib"
  echo "-libraryjars $jmods(!**.jar;!module-info.class)"
  comm -13 <(entries "$work/jvm.cp" | sort) <(entries "$work/jvm-test.cp" | sort) | grep . |
    sed 's/^/-libraryjars /'
  app_rules
  echo "-keep class app.tend.core.TendTest { *; }"
  echo "-dontwarn android.annotation.**" # coroutines' debug agent, on the JVM
  echo "-keepattributes *Annotation*,Signature,InnerClasses,EnclosingMethod,SourceFile,LineNumberTable"
} >"$work/jvm.pro"
proguard "$work/jvm.pro" "$work/jvm.log"
echo "JVM: app.tend classes $(($(classes_under "$kotlin/target/classes" app/tend) + $(classes_under "$kotlin/target/test-classes" app/tend))) → $(classes_under "$work/jvm.jar" app/tend)," \
  "$(du -k "$work/jvm.jar" | cut -f1) KB with the Kotlin runtime, coroutines and JNA"

console="$(entries "$work/tools.cp" | grep junit-platform-console-standalone)"
java -Djna.library.path="$target/debug" -cp "$work/jvm.jar:$stdlib:$console" \
  org.junit.platform.console.ConsoleLauncher execute --disable-banner --fail-if-no-tests \
  --details=summary --select-class app.tend.core.TendTest
