using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Tests.Training;

public sealed class DataOrderTests
{
    [Fact]
    public void Every_epoch_visits_each_sample_once_in_a_seeded_order()
    {
        var order = new DataOrder(sampleCount: 10, samplesPerStep: 4, epochs: 3, seed: 5);
        Assert.Equal(3, order.StepsPerEpoch);
        Assert.Equal(9, order.TotalSteps);
        var epochs = Enumerable.Range(0, 3).Select(e => Enumerable.Range(e * 3, 3).SelectMany(s => order.SamplesOf(s)).ToArray()).ToList();
        foreach (var epoch in epochs)
            Assert.Equal(Enumerable.Range(0, 10), epoch.Order());
        Assert.NotEqual(epochs[0], epochs[1]);
        Assert.Equal(2, order.SamplesOf(2).Length); // the last step of an epoch takes the remainder

        // A fresh instance (a resumed run) gives the same samples for any step, in any visiting order.
        var again = new DataOrder(10, 4, 3, 5);
        Assert.Equal(order.SamplesOf(7), again.SamplesOf(7));
        Assert.Equal(order.SamplesOf(1), again.SamplesOf(1));
        Assert.NotEqual(order.SamplesOf(0), new DataOrder(10, 4, 3, 6).SamplesOf(0));
    }
}
