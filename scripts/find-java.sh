#!/usr/bin/env bash
# Sourced by the root scripts: exports JAVA_HOME pointing at a JDK 25 (or newer), found from
# JAVA_HOME, then /usr/lib/jvm/*, then `java` on the PATH. Says how to get one if there is none.
d4j_java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
d4j_find_java() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/* "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    local v; v=$(d4j_java_major "$c")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then export JAVA_HOME="$c"; return 0; fi
  done
  cat >&2 <<'MSG'
diffuse4j needs a JDK 25 (it uses the Vector API and java.lang.foreign).
None was found in JAVA_HOME, /usr/lib/jvm/* or on the PATH. Install one, for example:
  apt-get install temurin-25-jdk        (Adoptium apt repository), or
  sdk install java 25-tem               (SDKMAN), or unpack a JDK 25 and set JAVA_HOME to it.
MSG
  return 1
}
d4j_find_java || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
# Maven itself runs on this JDK; keep its own warnings about sun.misc.Unsafe quiet.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
