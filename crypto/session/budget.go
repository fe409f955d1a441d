package session

import "errors"

// What the archived states of a record may compute, together, to try one
// SignalMessage. libsignal sets no such bound: it lets the current state
// and each of up to 40 archived ones derive up to MaxForwardJumps
// (25,000) chain keys and compute a DH for any message, so that one forged
// message, which the relay or any contact can send, costs the receiver
// about a second of CPU. The current state keeps libsignal's limits
// exactly. Archived states receive little, and then close to where their
// conversation stopped: they are tried, newest first, only while the
// message's cost (ratchet.State.DecryptCost) fits in what is left.
const (
	// ArchivedChainKeys is the most chain keys the archived states derive,
	// together, for one message.
	ArchivedChainKeys = 2_000
	// ArchivedNewChains is the most archived states that compute a DH for
	// one message that starts a new receiving chain.
	ArchivedNewChains = 5
)

// errArchivedBudget: a state was not tried because the message would
// have cost more than what is left of the archived states' budget.
var errArchivedBudget = errors.New("session: message beyond what archived states may compute for it")

// budget is what is left of the archived states' budget for one message.
type budget struct {
	chainKeys uint32
	newChains int
}

func archivedBudget() budget {
	return budget{chainKeys: ArchivedChainKeys, newChains: ArchivedNewChains}
}

// spend reports whether a state may try a message that costs chainKeys
// chain keys and, if newChain, a DH, and takes that from the budget if so.
func (b *budget) spend(chainKeys uint32, newChain bool) bool {
	if chainKeys > b.chainKeys || (newChain && b.newChains == 0) {
		return false
	}
	b.chainKeys -= chainKeys
	if newChain {
		b.newChains--
	}
	return true
}
