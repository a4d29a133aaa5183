import Foundation
import ZooKit
import ZooRegistry

/// `zoo export --format onnx`.
enum ONNXFile {
    static func export(_ store: ModelStore, _ name: String, checkpoint: CheckpointSelector) throws -> Data {
        throw UsageError("ONNX export is not available in this build")
    }
}
