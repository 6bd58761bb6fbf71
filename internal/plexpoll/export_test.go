package plexpoll

// SetAfterPublish installs a hook run after each acknowledged publish and
// before the state is stored; an error abandons the cycle there, as a
// crash would.
func (p *Poller) SetAfterPublish(f func(orderID string) error) { p.afterPublish = f }

// SetCrashOnStop makes Run end without releasing the lease, as a crashed
// process would.
func (p *Poller) SetCrashOnStop() { p.noRelease = true }

// PauseRenewals makes the lease renewals hang (skipped), as when the
// poller is cut off from NATS while it still reaches Plex.
func (p *Poller) PauseRenewals(pause bool) { p.pauseRenew.Store(pause) }
