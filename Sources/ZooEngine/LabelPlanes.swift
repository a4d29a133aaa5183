/// Turns a row "flattened image ⊕ one-hot label" back into an image with one extra
/// constant plane per class, so a convolutional discriminator sees the label at every
/// pixel (the usual conditional-DCGAN input). Parameter-free.
/// x: [N, C·H·W + K] → y: [N, C + K, H, W]
public final class LabelPlanes: Layer {
    public let imageShape: [Int]  // [C, H, W]
    public let classes: Int
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init(imageShape: [Int], classes: Int) {
        precondition(imageShape.count == 3, "imageShape is [C, H, W]")
        self.imageShape = imageShape
        self.classes = classes
    }

    private var pixels: Int { imageShape[1] * imageShape[2] }
    private var imageCount: Int { imageShape[0] * pixels }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.batch, image = imageCount, hw = pixels, k = classes
        precondition(x.perSample == image + k, "LabelPlanes expects \(image + k) columns, got \(x.shape)")
        let outPerSample = image + k * hw
        output.resize([n, imageShape[0] + k, imageShape[1], imageShape[2]])
        for i in 0..<n {
            let row = x.data + i * (image + k), out = output.data + i * outPerSample
            out.update(from: row, count: image)
            for c in 0..<k { (out + image + c * hw).update(repeating: row[image + c], count: hw) }
        }
        return output
    }

    /// dL/d(label value) is the sum of its plane's gradient.
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        let n = dy.batch, image = imageCount, hw = pixels, k = classes
        gradInput.resize([n, image + k])
        guard needs.contains(.input) else { return gradInput }
        let outPerSample = image + k * hw
        for i in 0..<n {
            let g = dy.data + i * outPerSample, row = gradInput.data + i * (image + k)
            row.update(from: g, count: image)
            for c in 0..<k {
                var sum: Float = 0
                for p in 0..<hw { sum += g[image + c * hw + p] }
                row[image + c] = sum
            }
        }
        return gradInput
    }
}
