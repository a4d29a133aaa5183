import Foundation

extension Registry {
    /// All models with their sizes and latest metrics, in two aggregate
    /// queries regardless of how many models there are.
    public func listModels(
        architecture: String? = nil, dataset: String? = nil, status: ModelStatus? = nil,
        sort: ModelSort = .name
    ) throws -> [ModelSummary] {
        let order: String
        switch sort {
        case .name: order = "m.name"
        case .created: order = "m.created_at, m.name"
        case .updated: order = "m.updated_at DESC, m.name"
        }
        let filter: [SQLValue] = [.optionalText(architecture), .optionalText(dataset), .optionalText(status?.rawValue)]
        return try db.read {
            var summaries: [Int64: ModelSummary] = [:]
            var ids: [Int64] = []
            let statement = try db.prepare(
                """
                WITH ck AS (
                    SELECT model_id, count(*) AS n, max(epoch) AS epochs, max(step) AS steps
                    FROM checkpoints GROUP BY model_id
                ),
                sizes AS (
                    SELECT c.model_id, sum(length(t.blob)) AS stored, sum(t.raw_bytes) AS raw
                    FROM tensors t JOIN checkpoints c ON c.id = t.checkpoint_id GROUP BY c.model_id
                ),
                params AS (
                    -- Networks named with a '#' (e.g. "generator#adam") hold optimizer state, not parameters.
                    SELECT c.model_id, sum(t.elements) AS p
                    FROM ck JOIN checkpoints c ON c.model_id = ck.model_id AND c.step = ck.steps
                    JOIN tensors t ON t.checkpoint_id = c.id AND instr(t.network, '#') = 0 GROUP BY c.model_id
                )
                SELECT m.id, m.name, m.architecture, m.dataset, m.status, m.created_at, m.updated_at, m.description,
                       coalesce(ck.n, 0), coalesce(ck.epochs, 0), coalesce(ck.steps, 0),
                       coalesce(params.p, 0), coalesce(sizes.stored, 0), coalesce(sizes.raw, 0)
                FROM models m
                LEFT JOIN ck ON ck.model_id = m.id
                LEFT JOIN sizes ON sizes.model_id = m.id
                LEFT JOIN params ON params.model_id = m.id
                WHERE (?1 IS NULL OR m.architecture = ?1) AND (?2 IS NULL OR m.dataset = ?2) AND (?3 IS NULL OR m.status = ?3)
                ORDER BY \(order)
                """)
            try statement.bind(filter)
            while try statement.step() {
                let s = statement
                let id = s.int64(0)
                ids.append(id)
                summaries[id] = ModelSummary(
                    name: s.text(1), architecture: s.text(2), dataset: s.text(3),
                    status: ModelStatus(rawValue: s.text(4)) ?? .failed,
                    createdAt: s.date(5), updatedAt: s.date(6), description: s.optionalText(7),
                    checkpointCount: s.int(8), epochs: s.int(9), steps: s.int(10),
                    parameterCount: s.int(11), storedBytes: s.int(12), rawBytes: s.int(13), metrics: [:])
            }
            // Rows come oldest first, so the last value seen per name wins.
            let metrics = try db.prepare(
                "SELECT model_id, name, value FROM metrics ORDER BY model_id, name, created_at, id")
            while try metrics.step() {
                let id = metrics.int64(0)
                summaries[id]?.metrics[metrics.text(1)] = metrics.double(2)
            }
            return ids.compactMap { summaries[$0] }
        }
    }
}
