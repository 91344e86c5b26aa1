package app.tend.core

import app.tend.core.model.Change
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/**
 * What is saved from now on, for as long as the flow is collected. Each
 * collector holds a subscription of its own, so any number may watch (a
 * screen, a widget, the reminder scheduler); none misses a notice while
 * another is slow.
 */
val TendVault.changes: Flow<Change>
    get() = callbackFlow {
        val subscription = subscribe(object : ChangeListener {
            override fun changed(what: Change) {
                trySend(what)
            }
        })
        awaitClose { subscription.cancel() }
    }.buffer(Channel.UNLIMITED)
