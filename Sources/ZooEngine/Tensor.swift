import Foundation

/// A float32 tensor: a shape and a contiguous, row-major buffer (NCHW for images).
///
/// A reference type on purpose: layers keep their outputs and caches between steps and
/// `resize` them, so a steady-state training step allocates no new buffers. A tensor
/// either owns its memory or is a view (`reshaped`) that keeps its owner alive.
public final class Tensor {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    public private(set) var data: UnsafeMutablePointer<Float>
    private var capacity: Int
    private let owner: Tensor?

    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = max(count, 1)
        self.data = Tensor.allocateZeroed(capacity)
        if value != 0 { self.data.update(repeating: value, count: capacity) }
        self.owner = nil
    }

    /// calloc: large zeroed buffers come straight from the kernel as untouched pages, so
    /// tensors a run never uses (a discriminator and Adam moments when only generating)
    /// cost no page faults. Freed with `free`.
    private static func allocateZeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        guard let raw = calloc(count, MemoryLayout<Float>.stride) else {
            preconditionFailure("out of memory allocating \(count) floats")
        }
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    private init(viewOf base: Tensor, shape: [Int], offset: Int = 0) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = count
        self.data = base.data + offset
        self.owner = base
    }

    deinit { if owner == nil { free(data) } }

    /// Changes the shape, reallocating only when the buffer is too small. Contents are
    /// unspecified afterwards (callers overwrite them).
    public func resize(_ newShape: [Int]) {
        precondition(owner == nil, "cannot resize a view")
        let n = newShape.reduce(1, *)
        if n > capacity {
            free(data)
            capacity = n
            data = Tensor.allocateZeroed(n)
        }
        shape = newShape
        count = n
    }

    /// A view with another shape over the same memory (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot view \(shape) as \(newShape)")
        let base = owner ?? self
        return Tensor(viewOf: base, shape: newShape, offset: data - base.data)
    }

    /// A view of samples `range` along the first dimension (no copy).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= batch, "rows \(range) of \(shape)")
        let base = owner ?? self
        let offset = (data - base.data) + range.lowerBound * perSample
        return Tensor(viewOf: base, shape: [range.count] + shape.dropFirst(), offset: offset)
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.copy(from: self)
        return t
    }

    /// Batch size: the first dimension.
    public var batch: Int { shape.first ?? 1 }
    /// Elements per sample.
    public var perSample: Int { shape.isEmpty ? 1 : count / max(shape[0], 1) }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
