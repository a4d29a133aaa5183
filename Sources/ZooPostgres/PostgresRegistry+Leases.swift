import Foundation
@_spi(Backend) import ZooRegistry

/// Training leases: a session-level advisory lock on the model's id, held by a connection of
/// its own for as long as the training runs. The server drops it when that connection ends,
/// however the process ends (`kill -9` included): the same semantics as the SQLite registry's
/// flock, across machines. Keyed by id, so a rename keeps it.
final class LeaseHolder {
    let session: PostgresSession
    let modelID: Int64
    let model: String

    /// The lock's two keys: 'Zoo1' (as the schema's application id) and the model id.
    static func keys(_ modelID: Int64) -> String {
        "\(PostgresRegistry.applicationID), \(Int32(truncatingIfNeeded: modelID & 0x7fff_ffff))"
    }

    init(url: PostgresURL, modelID: Int64, model: String) throws {
        session = try PostgresSession(url: url)
        self.modelID = modelID
        self.model = model
        try take()
    }

    private func take() throws {
        let rows = try session.query("SELECT pg_try_advisory_lock(\(Self.keys(modelID)))")
        guard try rows.first?[0].decode(Bool.self) == true else {
            let holder = try? PostgresRegistry.holder(of: modelID, on: session)
            session.close()
            throw RegistryError.modelBusy(model, holder: holder ?? nil)
        }
    }

    /// Makes sure the lock is still held: after a lost connection (a server restart drops it)
    /// it is taken again on a new one, unless another process took it meanwhile (modelBusy).
    func confirm() throws {
        if session.isOpen, (try? session.query("SELECT 1")) != nil { return }
        try session.connect()
        try take()
    }

    func release() {
        _ = try? session.query("SELECT pg_advisory_unlock(\(Self.keys(modelID)))")
        session.close()
    }
}

extension PostgresRegistry {
    public func leaseTraining(model name: String) throws -> TrainingLease? {
        let id = try atomically { try modelID(named: name) }
        let holder = try LeaseHolder(url: url, modelID: id, model: name)
        lock.withLock { leases[id] = holder }
        return TrainingLease(model: name) { [weak self] in
            holder.release()
            self?.lock.withLock { _ = self?.leases.removeValue(forKey: id) }
        }
    }

    public func isBeingTrained(model name: String) throws -> Bool {
        try atomically { try isLeased(modelID: try modelID(named: name)) }
    }

    /// Every leased model in one query (`zoo list` of thousands of models asks once).
    public func modelsBeingTrained() throws -> Set<String> {
        try atomically {
            Set(
                try rows(
                    """
                    SELECT m.name FROM models m JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
                        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        AND l.classid = \(Self.applicationID)::bigint::oid AND l.objsubid = 2
                        AND l.objid::bigint = (m.id & 2147483647)
                    """
                ) { try $0.text(0) })
        }
    }

    /// Whether any session of this database holds the model's lease (pg_locks sees all).
    func isLeased(modelID: Int64) throws -> Bool {
        try first(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND classid = \(Self.applicationID)::bigint::oid AND objid = $1::bigint::oid AND objsubid = 2)
            """, [.int(Int64(Int32(truncatingIfNeeded: modelID & 0x7fff_ffff)))]
        ) { try $0[0].decode(Bool.self) } ?? false
    }

    func refuseIfBeingTrained(_ name: String) throws {
        let id = try modelID(named: name)
        if try isLeased(modelID: id) {
            throw RegistryError.modelBusy(name, holder: try Self.holder(of: id, on: session))
        }
    }

    /// Who holds a model's lease: the holder's application name ("zoo process N on HOST") and
    /// address, where the server shows them to this user.
    static func holder(of modelID: Int64, on session: PostgresSession) throws -> String? {
        let rows = try session.query(
            """
            SELECT a.application_name, host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = \(applicationID)::bigint::oid
                AND l.objid = $1::bigint::oid AND l.objsubid = 2
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            LIMIT 1
            """, [.int(Int64(Int32(truncatingIfNeeded: modelID & 0x7fff_ffff)))])
        guard let row = rows.first, let name = try row.optionalText(0), !name.isEmpty else { return nil }
        let address = try row.optionalText(1)
        return address.map { "\(name) (\($0))" } ?? name
    }
}
