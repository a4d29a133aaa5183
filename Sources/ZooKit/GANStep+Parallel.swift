import ZooEngine

/// D's passes over the real and fake batch cut into one slice of images per thread, each run
/// through its own replica of D (shared weights, own gradients and caches, `Layer.replica`)
/// with unsplit GEMMs; the replicas' gradients are then added into D's. Without it every GEMM
/// of those passes is cut in two and both threads meet after each one (waits and twice-packed
/// weights were ~1/8 of a conditional-GAN step's CPU time). Only for a D whose images are
/// independent and whose layers all have replicas (no BatchNorm or Dropout), and a loss
/// without a penalty pass; the D gradients then differ from one thread's by float rounding
/// only (the slices' sums are added, not one sum taken).
///
/// When G's images are independent too and its layers have replicas (cgan), each thread takes
/// its slice through the whole step (G forward, D's passes, G backward): one meeting of the
/// threads a step.
extension GANStep {
    /// How many slices D's passes take (1: D itself, its GEMMs split over the threads);
    /// makes the replicas the first time.
    func parallelParts(batch n: Int, perImage: Bool) -> Int {
        let parts = Threads.count
        guard parallelDiscriminator, perImage, loss.penalty == nil, parts > 1, n >= 2 * parts, !Threads.insidePart
        else { return 1 }
        if replicable == nil {
            while replicas.count < parts - 1, let copy = discriminator.replica() { replicas.append(copy) }
            replicable = replicas.count == parts - 1
            if !generator.body.mixesImages {
                while generatorReplicas.count < parts - 1, let copy = generator.replica() {
                    generatorReplicas.append(copy)
                }
            }
        }
        guard replicable == true, replicas.count >= parts - 1 else { return 1 }
        while passBuffers.count < parts { passBuffers.append(PassBuffers()) }
        return parts
    }

    /// `computeGradients`'s passes in `parts` slices (after `parallelParts`): D's gradients,
    /// G's upstream in dFake, and G's gradients when asked for.
    func slicedPasses(
        parts: Int, real: Tensor, labels: Tensor?, classLabels: [Int], most: Int, inverseN: Float,
        perImage: Bool, needsGenerator: Bool
    ) -> PassLosses {
        let n = real.batch
        // With G's replicas too, each thread runs its slice through the whole step.
        let wholeStep = generatorReplicas.count >= parts - 1
        let fake =
            wholeStep
            ? nil
            : withInstanceNoise(
                generatorForward(generator, noise: noise, labels: labels, real: real),
                rows: 0..<n, into: noisyFake)
        // G's upstream; with G in slices, each takes its rows in its fakes' shape.
        dFake.resize(fake?.shape ?? real.shape)
        let slice = (n + parts - 1) / parts
        var results = [PassLosses](repeating: PassLosses(), count: parts)
        results.withUnsafeMutableBufferPointer { out in
            Threads.run(parts) { part in
                let lo = min(n, part * slice), hi = min(n, lo + slice)
                guard lo < hi else { return }
                let rows = lo..<hi
                let network = part == 0 ? discriminator : replicas[part - 1]
                if let fake {
                    let passes = Passes(
                        real: real, fake: fake, fakeFirstRow: 0, labels: labels, classLabels: classLabels,
                        inverseN: inverseN,
                        perImage: perImage, needsGenerator: needsGenerator)
                    out[part] = discriminatorPasses(network, rows: rows, most: most, passes, passBuffers[part])
                } else {
                    let g = part == 0 ? generator : generatorReplicas[part - 1]
                    let fakes = withInstanceNoise(
                        generatorForward(g, noise: noise.rows(rows), labels: labels?.rows(rows), real: real),
                        rows: rows, into: passBuffers[part].noisyFake)
                    let passes = Passes(
                        real: real, fake: fakes, fakeFirstRow: lo, labels: labels, classLabels: classLabels,
                        inverseN: inverseN,
                        perImage: perImage, needsGenerator: needsGenerator)
                    out[part] = discriminatorPasses(network, rows: rows, most: most, passes, passBuffers[part])
                    if needsGenerator { g.backward(dFake.rows(rows).reshaped(fakes.shape), needs: .parameters) }
                }
            }
        }
        var total = PassLosses()
        for r in results { total.add(r) }  // in part order: the same sums every run
        for replica in replicas.prefix(parts - 1) { discriminator.body.takeGradients(of: replica.body) }
        parallelDiscriminatorSteps += 1
        if wholeStep {
            if needsGenerator {
                for replica in generatorReplicas.prefix(parts - 1) { generator.body.takeGradients(of: replica.body) }
            }
            parallelWholeSteps += 1
        } else if needsGenerator {
            generator.backward(dFake, needs: .parameters)
        }
        return total
    }
}
