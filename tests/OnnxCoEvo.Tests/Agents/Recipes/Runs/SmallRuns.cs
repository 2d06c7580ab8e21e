using OnnxCoEvo.Agents.Recipes.Runs;

namespace OnnxCoEvo.Tests.Agents.Recipes.Runs;

/// <summary>Tiny recipe runs for tests: a random-weight tiny model and a config with budgets of seconds.</summary>
public static class SmallRuns
{
    /// <summary>The tiny preset with a 4,096-token context (same weights; RoPE needs none): WebShop episodes pass 2,048 tokens.</summary>
    public static string CreateTinyModel(string directory) => DemoRun.CreateTinyModel(directory, context: 4096, seed: 3);

    /// <summary>A config of a few webshop tasks, short turns and episodes, one LoRA epoch per stage.</summary>
    public static string Config(string name, string recipe, string model, int iterations = 1, string extra = "") => $"""
        name: {name}
        recipe: {recipe}
        env: webshop
        webshop_products: 200
        model: {model}
        iterations: {iterations}
        seed: 5
        train:
          epochs: 1
          lora_rank: 4
          lora_alpha: 8
          checkpoint_every: 1
        rollout:
          samples: 2
          max_new_tokens: 12
          max_steps: 6
          task_limit: 4
          concurrency: 8
        eval:
          limit: 2
        {extra}
        """;
}
