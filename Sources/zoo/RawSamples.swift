import ArgumentParser
import Foundation
import ZooData
import ZooEngine

enum SampleFormat: String, ExpressibleByArgument, CaseIterable {
    case png, npy, idx
}

/// `zoo generate --format npy|idx`: the images themselves, for training data or for comparing
/// with an exported model's output.
enum RawSamples {
    /// Writes the images (and labels, for a conditional model) and returns the paths written.
    static func write(_ images: Tensor, labels: [Int]?, format: SampleFormat, to path: String) throws -> [String] {
        let labelsPath = labelsFile(for: path)
        if labels != nil { try OutputFile.checkWritable(labelsPath) }
        switch format {
        case .npy:
            try OutputFile.write(NPY.encode(float32: images.array, shape: images.shape), to: path)
            if let labels {
                try OutputFile.write(NPY.encode(int64: labels, shape: [labels.count]), to: labelsPath)
            }
        case .idx:
            // MNIST's convention: 0 is the background, 255 the ink; [-1, 1] maps onto 0...255.
            let bytes = images.array.map { UInt8(max(0, min(255, (($0 + 1) * 127.5).rounded()))) }
            let shape = images.shape[1] == 1 ? [images.shape[0]] + Array(images.shape.dropFirst(2)) : images.shape
            try OutputFile.write(IDXWriter.encode(bytes: bytes, shape: shape), to: path)
            if let labels {
                try OutputFile.write(
                    IDXWriter.encode(bytes: labels.map { UInt8($0) }, shape: [labels.count]), to: labelsPath)
            }
        case .png:
            preconditionFailure("PNG grids are written by Generate")
        }
        return labels == nil ? [path] : [path, labelsPath]
    }

    /// digits.npy → digits-labels.npy.
    static func labelsFile(for path: String) -> String {
        let ns = path as NSString
        let ext = ns.pathExtension
        let stem = ext.isEmpty ? path : ns.deletingPathExtension
        return ext.isEmpty ? "\(stem)-labels" : "\(stem)-labels.\(ext)"
    }
}
