package app.tend.core

import app.tend.core.model.*
import java.nio.file.Files
import kotlinx.coroutines.runBlocking

/** A Keystore stand-in; the key's protection is not what is timed here. */
private object PlainKeys : KeyProvider {
    override fun wrapKey(key: ByteArray) = key
    override fun unwrapKey(wrapped: ByteArray) = wrapped
}

private fun median(samples: List<Long>) = samples.sorted()[samples.size / 2]

/** Median nanoseconds a call of `block` takes, over `rounds` rounds of `n` calls. */
private inline fun timeEach(n: Int, rounds: Int = 7, block: (Int) -> Unit): Double {
    val perRound = (1..rounds).map {
        val start = System.nanoTime()
        for (i in 0 until n) block(i)
        System.nanoTime() - start
    }
    return median(perRound).toDouble() / n
}

/**
 * Times three operations through the generated Kotlin and the same work
 * called directly in Rust, in this one process, and prints the per-call
 * overhead. Run by bindings/kotlin/bench.sh (release library).
 */
fun main() = runBlocking {
    val dir = Files.createTempDirectory("tend-bench")
    val alice = createVault(dir.resolve("alice").toString(), PlainKeys)
    val bob = createVault(dir.resolve("bob").toString(), PlainKeys)
    alice.setDisplayName("Alice")
    bob.setDisplayName("Bob")
    val bobId = alice.addComrade(bob.myCard(), null).id
    bob.addComrade(alice.myCard(), null)
    repeat(200) { alice.addEntry(NewEntry(null, 3u, listOf("calm"), listOf("walk"), null, "entry $it by the canal")) }
    val body = ByteArray(1024) { 'x'.code.toByte() }
    fun sealMany(n: Int) = runBlocking {
        (1..n).map { alice.seal("bench.note", body, listOf(Recipient.Comrade(bobId)), null).bytes }
    }

    // Warm up the JIT and the library.
    repeat(20_000) { benchNoop(it) }
    repeat(200) { alice.listEntries(50, null, null, null, null) }

    val rows = mutableListOf<Triple<String, Double, Double>>()
    val noopN = 200_000
    val jvmNoop = timeEach(noopN) { benchNoop(it) }
    val rustNoop = rustPerCall(alice, BenchOp.NOOP, noopN, listOf())
    rows += Triple("trivial call (sync)", jvmNoop, rustNoop)

    val listN = 300
    val jvmList = timeEach(listN) { alice.listEntries(50, null, null, null, null) }
    val rustList = rustPerCall(alice, BenchOp.LIST_FIFTY, listN, listOf())
    rows += Triple("list 50 entries (suspend)", jvmList, rustList)

    val openN = 100
    val jvmOpen = run {
        val rounds = (1..5).map {
            val envelopes = sealMany(openN)
            val start = System.nanoTime()
            for (e in envelopes) bob.openEnvelope(e)
            System.nanoTime() - start
        }
        median(rounds).toDouble() / openN
    }
    val rustOpen = median((1..5).map { benchRustNanos(bob, BenchOp.OPEN_ENVELOPE, openN, sealMany(openN)) }).toDouble() / openN
    rows += Triple("open one 1 KiB envelope (suspend)", jvmOpen, rustOpen)

    println("| Operation | Kotlin on the JVM | Rust directly | Overhead per call |")
    println("|---|---|---|---|")
    for ((name, jvm, rust) in rows) {
        println("| $name | ${fmt(jvm)} | ${fmt(rust)} | ${fmt(jvm - rust)} |")
    }
}

private fun rustPerCall(vault: TendVault, op: BenchOp, n: Int, envelopes: List<ByteArray>): Double =
    median((1..7).map { benchRustNanos(vault, op, n, envelopes) }).toDouble() / n

private fun fmt(nanos: Double): String = when {
    nanos >= 1_000_000 -> "%.2f ms".format(nanos / 1_000_000)
    nanos >= 1_000 -> "%.1f µs".format(nanos / 1_000)
    else -> "%.0f ns".format(nanos)
}
