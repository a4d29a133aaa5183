import XCTest

@testable import ZooEngine

/// Layer.replica: a copy that shares parameter values but keeps its own gradients and caches.
final class ReplicaTests: XCTestCase {
    func network() -> Sequential {
        let rng = RandomSource(seed: 3)
        return Sequential([
            ("flatten", Flatten()), ("dense1", Dense(inputs: 12, outputs: 5, rng: rng)),
            ("act", LeakyReLU(alpha: 0.2)), ("dense2", Dense(inputs: 5, outputs: 3, rng: rng)),
            ("tanh", Tanh()), ("relu", ReLU()), ("sigmoid", Sigmoid()), ("reshape", Reshape([3, 1])),
        ])
    }

    func testReplicaSharesValuesNotGradients() throws {
        let net = network()
        let copy = try XCTUnwrap(net.replica(), "every layer here has a replica")
        let x = randomTensor([4, 2, 6], seed: 1), y = randomTensor([2, 2, 6], seed: 2)
        // Different inputs through each: the caches are separate, so each backward uses its own.
        let outNet = net.forward(x, training: true).array
        let outCopy = copy.forward(y, training: true).array
        XCTAssertEqual([outNet.count, outCopy.count], [12, 6])
        net.backward(Tensor(shape: [4, 3, 1], repeating: 1), needs: .parameters)
        copy.backward(Tensor(shape: [2, 3, 1], repeating: 1), needs: .parameters)
        let mine = net.trainableParameters, theirs = copy.trainableParameters
        XCTAssertEqual(mine.count, 4)
        for (a, b) in zip(mine, theirs) {
            XCTAssertTrue(a.value === b.value, "\(a.name): values shared")
            XCTAssertFalse(a.grad === b.grad, "\(a.name): gradients separate")
        }
        // The replica's gradient equals what the network itself gives on the replica's input.
        let expected = net.replica()!
        _ = expected.forward(y, training: true)
        expected.backward(Tensor(shape: [2, 3, 1], repeating: 1), needs: .parameters)
        for (i, b) in theirs.enumerated() {
            XCTAssertEqual(
                b.grad.array, expected.trainableParameters[i].grad.array, "\(b.name): the replica's own gradient")
        }
        let sums = zip(mine, theirs).map { a, b in zip(a.grad.array, b.grad.array).map(+) }
        net.takeGradients(of: copy)
        for (i, (a, b)) in zip(mine, theirs).enumerated() {
            XCTAssertEqual(a.grad.array, sums[i], "\(a.name): gradients added")
            XCTAssertTrue(b.grad.array.allSatisfy { $0 == 0 }, "\(b.name): replica's gradients cleared")
            XCTAssertGreaterThan(sums[i].map(abs).max() ?? 0, 0, "\(a.name): a zero gradient proves nothing")
        }
        // A weight update shows in the replica at once.
        mine[0].value[0] += 1
        XCTAssertEqual(theirs[0].value[0], mine[0].value[0])
    }

    func testLayersWithSharedStateHaveNoReplica() {
        XCTAssertNil(BatchNorm(features: 3).replica())
        XCTAssertNil(Dropout(rate: 0.3, rng: RandomSource(seed: 1)).replica())
        XCTAssertNil(
            Sequential([
                ("dense", Dense(inputs: 2, outputs: 2, rng: RandomSource(seed: 1))),
                ("drop", Dropout(rate: 0.3, rng: RandomSource(seed: 1))),
            ]).replica())
    }
}
