import Foundation

extension Registry {
    /// Checks the file (SQLite integrity and foreign keys) and decodes every
    /// tensor of one model, or of all models, against its checksum. Bad data
    /// is reported, not thrown, so one broken tensor does not hide the others.
    public func verify(model name: String? = nil) throws -> VerifyReport {
        var report = VerifyReport(modelsChecked: 0, checkpointsChecked: 0, tensorsChecked: 0, problems: [])
        return try db.read {
            do {
                for line in try db.query("PRAGMA integrity_check", [], { $0.text(0) }) where line != "ok" {
                    report.problems.append("integrity: \(line)")
                }
                for row in try db.query("PRAGMA foreign_key_check", [], { "\($0.text(0)) row \($0.int64(1)) -> \($0.text(2))" }) {
                    report.problems.append("dangling reference: \(row)")
                }
            } catch let error as RegistryError {
                if case .corruptFile = error { report.problems.append(error.description); return report }
                throw error
            }
            let modelFilter: SQLValue = try name.map { .int(try modelID(named: $0)) } ?? .null
            report.modelsChecked = Int(try db.scalarInt("SELECT count(*) FROM models WHERE ?1 IS NULL OR id = ?1", [modelFilter]))
            report.checkpointsChecked = Int(try db.scalarInt(
                "SELECT count(*) FROM checkpoints WHERE ?1 IS NULL OR model_id = ?1", [modelFilter]))
            let statement = try db.prepare("""
                SELECT m.name, c.epoch, c.step, t.network, t.path, t.shape, t.dtype, t.codec, t.raw_bytes, t.sha256, t.blob
                FROM tensors t JOIN checkpoints c ON c.id = t.checkpoint_id JOIN models m ON m.id = c.model_id
                WHERE ?1 IS NULL OR m.id = ?1 ORDER BY m.name, c.step, t.id
                """)
            try statement.bind([modelFilter])
            while try statement.step() {
                let s = statement
                report.tensorsChecked += 1
                do {
                    let shape = try Shape.parse(s.text(5))
                    _ = try WeightCodec.decode(blob: s.blob(10), dtype: s.text(6), codec: s.text(7), rawBytes: s.int(8),
                                               sha256: s.text(9), elementCount: Shape.elementCount(shape))
                } catch let failure as WeightCodec.Failure {
                    report.problems.append(RegistryError.corruptTensor(model: s.text(0), epoch: s.int(1), step: s.int(2),
                                                                       network: s.text(3), path: s.text(4), reason: failure.reason).description)
                }
            }
            return report
        }
    }
}
