using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

public sealed class TokenSamplerTests
{
    private static readonly float[] Logits = [1.0f, 3.0f, 0.5f, 2.0f, 3.0f];

    [Fact]
    public void Greedy_is_the_first_argmax_and_ignores_the_random_stream()
    {
        var random = new Xoshiro256StarStar(7);
        Assert.Equal(1, TokenSampler.Argmax(Logits));
        Assert.Equal(1, TokenSampler.Sample(Logits, SamplingOptions.Greedy, ref random));
        Assert.Equal(new Xoshiro256StarStar(7).NextUInt64(), random.NextUInt64()); // no draw consumed
    }

    [Fact]
    public void Temperature_alone_keeps_every_token_with_softmax_probabilities()
    {
        (int[] ids, double[] p) = TokenSampler.Candidates(Logits, new SamplingOptions { Temperature = 0.5 });
        Assert.Equal([1, 4, 3, 0, 2], ids); // descending, ties by id
        double[] e = Logits.Select(l => Math.Exp(l / 0.5)).ToArray();
        double z = e.Sum();
        for (int i = 0; i < ids.Length; i++)
            Assert.Equal(e[ids[i]] / z, p[i], 12);
    }

    [Fact]
    public void Top_k_keeps_the_k_largest_and_renormalises()
    {
        (int[] ids, double[] p) = TokenSampler.Candidates(Logits, new SamplingOptions { Temperature = 1, TopK = 3 });
        Assert.Equal([1, 4, 3], ids);
        double z = 2 * Math.Exp(3) + Math.Exp(2);
        Assert.Equal(Math.Exp(3) / z, p[0], 12);
        Assert.Equal(Math.Exp(3) / z, p[1], 12);
        Assert.Equal(Math.Exp(2) / z, p[2], 12);
    }

    [Fact]
    public void Top_p_keeps_the_shortest_prefix_that_reaches_p()
    {
        // Probabilities over [3, 3, 2, 1, 0.5]: 0.3623, 0.3623, 0.1333, 0.0490, 0.0297 (cumulative 0.362, 0.725, 0.858, ...).
        double[] e = [Math.Exp(3), Math.Exp(3), Math.Exp(2), Math.Exp(1), Math.Exp(0.5)];
        double z = e.Sum();
        (int[] ids, double[] p) = TokenSampler.Candidates(Logits, new SamplingOptions { Temperature = 1, TopP = 0.8 });
        Assert.Equal([1, 4, 3], ids); // 0.725 < 0.8 <= 0.858
        double kept = (e[0] + e[1] + e[2]) / z;
        Assert.Equal(e[2] / z / kept, p[2], 12);

        (ids, _) = TokenSampler.Candidates(Logits, new SamplingOptions { Temperature = 1, TopP = 0.3 });
        Assert.Equal([1], ids); // the most likely token alone already reaches 0.3

        // top-k first, then top-p within the k: over {3, 3} each is 0.5, so p = 0.6 needs both.
        (ids, _) = TokenSampler.Candidates(Logits, new SamplingOptions { Temperature = 1, TopK = 2, TopP = 0.6 });
        Assert.Equal([1, 4], ids);
    }

    [Fact]
    public void The_same_seed_draws_the_same_tokens_and_draws_follow_the_distribution()
    {
        var options = new SamplingOptions { Temperature = 1.0, TopK = 4 };
        int[] Draw(ulong seed, int n)
        {
            var random = new Xoshiro256StarStar(seed);
            return Enumerable.Range(0, n).Select(_ => TokenSampler.Sample(Logits, options, ref random)).ToArray();
        }
        Assert.Equal(Draw(42, 50), Draw(42, 50));
        Assert.NotEqual(Draw(42, 50), Draw(43, 50));

        int[] many = Draw(1, 20000);
        Assert.DoesNotContain(2, many); // the 5th token is outside the top 4
        (int[] ids, double[] p) = TokenSampler.Candidates(Logits, options);
        for (int i = 0; i < ids.Length; i++)
            Assert.InRange(many.Count(t => t == ids[i]) / 20000.0, p[i] - 0.015, p[i] + 0.015);
    }

    [Theory]
    [InlineData(-1, 0, 1)]
    [InlineData(1, -1, 1)]
    [InlineData(1, 0, 0)]
    [InlineData(1, 0, 1.5)]
    public void Bad_knobs_are_refused(double temperature, int topK, double topP) =>
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }.Validate());
}
