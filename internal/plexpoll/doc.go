// Package plexpoll polls Plex for sales and purchase orders and publishes
// a plex_sales_order_changed or plex_purchase_order_changed event on the
// OMS stream (subject plex.<type>.<order>) for every order that is new or
// changed since the last event it published for it.
//
// # Poller
//
// Plex Connect has no change feed, no pagination and ignores filters, so a
// cycle reads everything and diffs: one ListSalesOrders and one
// ListPurchaseOrders call, then, per customer or supplier named by some
// order (not per order: the reads are cached for the cycle, failures
// included), GetCustomer and ListCustomerAddresses, or GetSupplier,
// ListSupplierAddresses and GetSupplierPurchasingDefaults. The lists are
// assumed to carry the orders' lines, as the sandbox's do; no order is
// read on its own. A cycle therefore costs 2 + 2×customers +
// 3×suppliers calls, whatever the number of orders, and Cycle.Calls
// reports them (retries made by the client are not included).
//
// That is still a lot for Plex's 200 calls a minute, shared with the tax
// write-back: 10,000 sales orders of 500 customers cost 1,002 calls, five
// minutes of budget per cycle (BenchmarkPollCycle, package loadtest). Two
// options bound it. WithReferenceMaxAge(d) reuses a customer or supplier
// read by an earlier cycle for up to d, so a steady-state cycle costs the
// two list calls plus the references that came of age (a change to an
// order is still seen in the next cycle, a change to a customer up to d
// late). WithMaxCallsPerCycle(n) caps a cycle's calls: it reads first the
// references never read, then those read longest ago, as far as the cap
// allows; past it an order uses its reference's earlier read
// (Cycle.Stale) or, never read, waits for the next cycle
// (Cycle.Deferred). References no order needs any more are forgotten.
//
// Translation (Settings.Sales, Settings.Purchase) turns an order and what
// it names into an events.OrderEvent: the taxbridge order id
// events.PlexOrderID(kind, id); a SalesInvoice to the customer's ship-to
// address, with its exemption number; or a PurchaseInvoice (consumer use
// tax) whose customer is the supplier, from the supplier's address to the
// receiving building; the document code PREFIX-number
// (PREFIX-tenant[:8]-number with a tenant, PREFIX-PO-number for a
// purchase); one order item and one open line item group per line, the
// line amount as the row total; the action void_order_taxes for a cancel
// status, refresh_order_taxes otherwise.
//
// # Fingerprints and versions
//
// The fingerprint of an order is the hex SHA-256 of the JSON of its
// translated event data with order_version 0 and plex.fingerprint "". It
// changes exactly when something taxbridge would send changes, including a
// corrected customer address or exemption, and not when Plex changes what
// taxbridge does not send (a description, a unit price whose row total
// stays). The KV bucket plex_orders holds per order (key bus.Token(order
// id)) the fingerprint and version of the last event published. An order
// whose fingerprint equals the stored one is skipped; otherwise its
// version is one above the stored version and above the version of the
// order's last event in the stream (which a poller that died before
// storing may have published: the worker would take a change under that
// version for stale), or that event's version when it carries the same
// fingerprint (the same event again); the event is
// published and acknowledged, and only then is the new fingerprint and
// version stored, with a revision check. Versions increase with every
// change the poller sees, which is what the worker's order_version
// ordering needs.
//
// # Event ids
//
// The event id is "plex:<order id>:<version>:<fingerprint[:16]>",
// deterministic in what is published. A poller that crashes after the
// publish and before the store publishes the same event again in the next
// cycle (same stored version, same fingerprint, hence same id); JetStream
// drops it inside the stream's duplicate window (Nats-Msg-Id) and the
// worker drops it after that by its own dedup. An order that fails (its
// customer is 404, a publish fails) is counted in Cycle.Failed, logged,
// and retried next cycle; it never stops the cycle.
//
// # Lease
//
// Exactly one replica polls. The KV bucket plex_poller_lease has MaxAge =
// the lease TTL (default 30s) and history 1; its key "poller" names the
// holder. A replica takes the lease with Create (which fails while anyone
// holds it) and renews it every TTL/3 with Update on its last revision; a
// failed renewal ends polling at once (the cycle's context is cancelled).
// When the holder dies, the key expires TTL after its last renewal and
// another replica's Create (tried every TTL/4) succeeds; on a clean
// shutdown the holder deletes the key on its revision, so the takeover is
// immediate. The holder counts its lease valid only until TTL after the
// start of its last successful write, which ends before the key can expire
// on the server, and checks that before publishing each order: a replica
// that lost the lease during a long cycle publishes nothing more.
package plexpoll
