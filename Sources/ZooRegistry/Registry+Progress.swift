import Foundation

/// The per-epoch progress frames (schema version 2): one small PNG per epoch and model.
extension Registry {
    /// Frames are at most this large: a 40-image grid of 28×28 digits is ~10 KB; anything
    /// far larger read from a file is not a frame (and is not loaded into memory).
    public static let maximumFrameBytes = 4 << 20
    /// At most this many frames are read for one model (the epoch limit of `zoo train`).
    public static let maximumFrames = 10_000
    /// At most this many PNG bytes are read for one model's frames together (a 10,000-epoch
    /// model of 15 KB frames is 150 MB): a hostile file cannot make zoo read 40 GB.
    public static let maximumFramesBytes = 256 << 20

    func insertProgressFrame(modelID: Int64, _ frame: ProgressFrame, at time: Double) throws {
        guard frame.epoch >= 1, frame.step >= 0 else {
            throw RegistryError.invalidArgument(
                "a progress frame needs epoch ≥ 1 and step ≥ 0 (got \(frame.epoch), \(frame.step))")
        }
        guard !frame.png.isEmpty, frame.png.count <= Self.maximumFrameBytes else {
            throw RegistryError.invalidArgument(
                "a progress frame must hold 1 to \(Self.maximumFrameBytes) bytes (got \(frame.png.count))")
        }
        // A resumed epoch that is redrawn replaces its frame: one frame per epoch.
        try db.run(
            """
            INSERT INTO progress_frames (model_id, epoch, step, png, created_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (model_id, epoch) DO UPDATE SET step = excluded.step, png = excluded.png, created_at = excluded.created_at
            """, [.int(modelID), .int(frame.epoch), .int(frame.step), .blob(frame.png), .double(time)])
    }

    /// Stores one frame (publishing, tests); training stores them with the checkpoint.
    public func saveProgressFrame(model name: String, _ frame: ProgressFrame) throws {
        try requireProgressTable()
        try db.transaction { try insertProgressFrame(modelID: try modelID(named: name), frame, at: Registry.now) }
    }

    /// Number of frames of a model (0 for a model trained before frames, or a version-1 file).
    public func progressFrameCount(of name: String) throws -> Int {
        guard schemaVersion >= 2 else { _ = try modelID(named: name); return 0 }
        return try db.read {
            let id = try modelID(named: name)
            return try db.first("SELECT count(*) FROM progress_frames WHERE model_id = ?", [.int(id)]) { $0.int(0) }
                ?? 0
        }
    }

    /// The frames in epoch order; `epoch` picks one. Oversized rows are refused, not loaded;
    /// `byteLimit` caps the frames' bytes together.
    public func progressFrames(of name: String, epoch: Int? = nil, byteLimit: Int = maximumFramesBytes) throws
        -> [ProgressFrame]
    {
        guard schemaVersion >= 2 else { _ = try modelID(named: name); return [] }
        return try db.read {
            let id = try modelID(named: name)
            var sql = "SELECT epoch, step, length(png) FROM progress_frames WHERE model_id = ?"
            var arguments: [SQLValue] = [.int(id)]
            if let epoch { sql += " AND epoch = ?"; arguments.append(.int(epoch)) }
            sql += " ORDER BY epoch LIMIT \(Self.maximumFrames + 1)"
            let rows = try db.query(sql, arguments) { (epoch: $0.int(0), step: $0.int(1), bytes: $0.int(2)) }
            guard rows.count <= Self.maximumFrames else {
                throw RegistryError.invalidArgument(
                    "model \(name) has more than \(Self.maximumFrames) progress frames; the file is not one zoo wrote")
            }
            let total = rows.reduce(0) { $0 + max(0, $1.bytes) }
            guard total <= byteLimit else {
                throw RegistryError.invalidArgument(
                    "the progress frames of \(name) hold \(total) bytes, more than the \(byteLimit) zoo reads; the file is not one zoo wrote"
                )
            }
            return try rows.map { row in
                guard row.bytes > 0, row.bytes <= Self.maximumFrameBytes else {
                    throw RegistryError.invalidArgument(
                        "progress frame of epoch \(row.epoch) of \(name) is \(row.bytes) bytes (at most \(Self.maximumFrameBytes)); the file is damaged"
                    )
                }
                let png =
                    try db.first(
                        "SELECT png FROM progress_frames WHERE model_id = ? AND epoch = ?",
                        [.int(id), .int(row.epoch)]
                    ) { $0.blob(0) } ?? Data()
                return ProgressFrame(epoch: row.epoch, step: row.step, png: png)
            }
        }
    }

    private func requireProgressTable() throws {
        guard schemaVersion >= 2 else { throw RegistryError.readOnly(path: path) }
    }
}
