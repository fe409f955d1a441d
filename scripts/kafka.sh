#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1 for development and tests, from Maven Central jars on Java 17.
# No Docker, no download other than Maven's.
#
#   scripts/kafka.sh start      fetch the jars if missing, format storage once, start, wait until ready
#   scripts/kafka.sh stop       stop the broker and wait for it to exit
#   scripts/kafka.sh status     print "running PID ADDRESS" or "stopped" (exit 1 when stopped)
#   scripts/kafka.sh bootstrap  print the bootstrap address (host:port) for clients
#   scripts/kafka.sh fetch      fetch the jars only
#   scripts/kafka.sh reset      stop and delete all data (topics, offsets)
#
# Environment (all optional):
#   MUTUAL_KAFKA_DIR         state directory (default: <repo>/.cache/kafka)
#   MUTUAL_KAFKA_PORT        broker listener port (default 59092)
#   MUTUAL_KAFKA_CTRL_PORT   controller listener port (default 59093)
#   MUTUAL_KAFKA_HEAP        JVM heap (default 512m)
#   MUTUAL_KAFKA_WAIT        seconds to wait for start (default 300)
#   JAVA_HOME                Java 17 or newer (default: java on PATH)
#
# Typical test run:
#   scripts/kafka.sh start
#   MUTUAL_TEST_KAFKA=$(scripts/kafka.sh bootstrap) go test -tags kafka ./relay/bus/kafka/...
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${MUTUAL_KAFKA_DIR:-$ROOT/.cache/kafka}
PORT=${MUTUAL_KAFKA_PORT:-59092}
CTRL_PORT=${MUTUAL_KAFKA_CTRL_PORT:-59093}
HEAP=${MUTUAL_KAFKA_HEAP:-512m}
WAIT=${MUTUAL_KAFKA_WAIT:-300}
HOST=127.0.0.1
POM=$ROOT/scripts/kafka/pom.xml
LIB=$DIR/lib
DATA=$DIR/data
LOGS=$DIR/logs
CONF=$DIR/conf
PIDFILE=$DIR/kafka.pid

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi

die() { echo "kafka.sh: $*" >&2; exit 1; }

check_java() {
	command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install Java 17 or set JAVA_HOME)"
	local v
	v=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
	[[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "java $v found, Kafka 4 needs 17 or newer"
}

# The state directory holds jars and data: keep it out of version control.
ensure_dir() {
	mkdir -p "$DIR" "$LOGS" "$CONF"
	local top=$ROOT/.cache
	if [[ "$DIR" == "$top"/* && ! -e "$top/.gitignore" ]]; then
		printf '*\n' >"$top/.gitignore"
	fi
}

fetch() {
	ensure_dir
	# The pom's checksum names the jar set; a changed pom fetches again.
	local sum
	sum=$(cksum <"$POM" | awk '{print $1}')
	if [[ -f "$LIB/.pom-$sum" ]]; then return 0; fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found (install Maven)"
	echo "kafka.sh: fetching Kafka jars with Maven into $LIB" >&2
	rm -rf "$LIB.tmp"
	if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIB.tmp" \
		>"$LOGS/maven.log" 2>&1; then
		tail -n 30 "$LOGS/maven.log" >&2
		die "maven could not fetch the Kafka jars (log in $LOGS/maven.log)"
	fi
	rm -rf "$LIB"
	mv "$LIB.tmp" "$LIB"
	touch "$LIB/.pom-$sum"
}

write_config() {
	cat >"$CONF/server.properties" <<EOF
# Written by scripts/kafka.sh; edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CTRL_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CTRL_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
auto.create.topics.enable=false
# Records carry the time the broker appended them; set here rather than per
# topic, since a per-topic override costs heap for every topic.
log.message.timestamp.type=LogAppendTime
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=2
EOF
	cat >"$CONF/log4j2.properties" <<EOF
# Written by scripts/kafka.sh: everything goes to one rolling file.
name=mutual-kafka
appender.file.type=RollingFile
appender.file.name=file
appender.file.fileName=$LOGS/server.log
appender.file.filePattern=$LOGS/server.log.%i
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
appender.file.policies.type=Policies
appender.file.policies.size.type=SizeBasedTriggeringPolicy
appender.file.policies.size.size=50MB
appender.file.strategy.type=DefaultRolloverStrategy
appender.file.strategy.max=3
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.state.name=state.change.logger
logger.state.level=WARN
logger.request.name=kafka.request.logger
logger.request.level=WARN
EOF
}

# java_args prints nothing: it fills JAVA_ARGS with the JVM options shared by
# the storage tool and the broker.
java_args() {
	JAVA_ARGS=(-Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
		-Djava.awt.headless=true
		-Dlog4j2.configurationFile="$CONF/log4j2.properties"
		-Dkafka.logs.dir="$LOGS"
		-cp "$LIB/*")
}

jvm() {
	java_args
	"$JAVA" "${JAVA_ARGS[@]}" "$@"
}

format_storage() {
	if [[ -f "$DATA/meta.properties" ]]; then return 0; fi
	local id
	id=$(jvm kafka.tools.StorageTool random-uuid 2>>"$LOGS/format.log" | tail -n1)
	[[ -n "$id" ]] || die "could not make a cluster id (see $LOGS/format.log)"
	jvm kafka.tools.StorageTool format -t "$id" -c "$CONF/server.properties" >>"$LOGS/format.log" 2>&1 ||
		die "could not format storage (see $LOGS/format.log)"
}

pid() {
	[[ -f "$PIDFILE" ]] || return 1
	local p
	p=$(cat "$PIDFILE")
	[[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$p/cmdline" 2>/dev/null || return 1
	echo "$p"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ready: the process lives, the broker port accepts connections and the
# broker has logged that it finished starting (it is unfenced and serves
# metadata by then).
ready() {
	local p=$1
	kill -0 "$p" 2>/dev/null || return 2
	port_open "$PORT" || return 1
	# The log may have rolled over while a large data directory loaded.
	grep -qs 'Kafka Server started' "$LOGS/server.log" "$LOGS"/server.log.[0-9]*
}

start() {
	check_java
	if p=$(pid); then
		echo "kafka.sh: already running (pid $p) on $HOST:$PORT" >&2
		return 0
	fi
	if port_open "$PORT"; then die "port $PORT is in use by another process"; fi
	fetch
	write_config
	format_storage
	# A fresh log so the readiness check sees this run's start line.
	if [[ -f "$LOGS/server.log" ]]; then mv -f "$LOGS/server.log" "$LOGS/server.log.prev"; fi
	rm -f "$LOGS"/server.log.[0-9]*
	# Raise the open-file limit to what is allowed: each partition keeps its
	# segment files open.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	java_args
	setsid nohup "$JAVA" "${JAVA_ARGS[@]}" kafka.Kafka "$CONF/server.properties" \
		>"$LOGS/stdout.log" 2>&1 </dev/null &
	local p=$!
	echo "$p" >"$PIDFILE"
	local deadline=$((SECONDS + WAIT)) rc
	while :; do
		rc=0
		ready "$p" || rc=$?
		case $rc in
		0) break ;;
		2)
			rm -f "$PIDFILE"
			tail -n 30 "$LOGS/stdout.log" "$LOGS/server.log" >&2 2>/dev/null || true
			die "broker exited during start (logs in $LOGS)"
			;;
		esac
		if ((SECONDS >= deadline)); then
			stop >/dev/null 2>&1 || true
			die "broker not ready after ${WAIT}s (logs in $LOGS)"
		fi
		sleep 0.5
	done
	echo "kafka.sh: running (pid $p) on $HOST:$PORT" >&2
}

stop() {
	local p
	if ! p=$(pid); then
		rm -f "$PIDFILE"
		echo "kafka.sh: not running" >&2
		return 0
	fi
	kill -TERM "$p" 2>/dev/null || true
	local deadline=$((SECONDS + 60))
	while kill -0 "$p" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$p" 2>/dev/null || true
		fi
		sleep 0.2
	done
	rm -f "$PIDFILE"
	echo "kafka.sh: stopped" >&2
}

status() {
	local p
	if p=$(pid); then
		echo "running $p $HOST:$PORT"
	else
		echo "stopped"
		return 1
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
bootstrap) echo "$HOST:$PORT" ;;
fetch) fetch ;;
reset)
	stop
	rm -rf "$DATA" "$LOGS"
	;;
*)
	echo "usage: $0 start|stop|status|bootstrap|fetch|reset" >&2
	exit 2
	;;
esac
