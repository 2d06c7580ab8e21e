using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Training.Backends;

/// <summary>Save and load a backend's LoRA adapter as a PEFT folder (the same for every backend: it goes through Get/SetTrainable).</summary>
public static class TrainerBackendAdapters
{
    /// <summary>Writes the adapter as a PEFT folder (replacing an adapter folder already there) and returns its path.</summary>
    public static string SaveAdapter(this ITrainerBackend backend, string directory, string? baseModelNameOrPath = null)
    {
        var lora = backend.Lora ?? throw new InvalidOperationException("this backend trains every weight (full fine-tune); it has no adapter to save");
        new PeftAdapter { Config = lora, BaseModelNameOrPath = baseModelNameOrPath, Tensors = backend.GetTrainable() }.Save(directory, overwrite: true);
        return Path.GetFullPath(directory);
    }

    /// <summary>
    /// Loads a PEFT folder into the backend's adapter. The folder must fit the model (checked on read) and carry the
    /// backend's LoRA config (rank, alpha, rsLoRA, targets); a mismatch is refused before anything changes.
    /// </summary>
    public static void LoadAdapter(this ITrainerBackend backend, string directory)
    {
        var lora = backend.Lora ?? throw new InvalidOperationException("this backend trains every weight (full fine-tune); it takes no adapter");
        PeftAdapter adapter = PeftAdapter.Load(directory, backend.Config);
        if (adapter.Config.Rank != lora.Rank || adapter.Config.Alpha != lora.Alpha || adapter.Config.UseRsLora != lora.UseRsLora
            || !adapter.Config.TargetModules.Order().SequenceEqual(lora.TargetModules.Order()))
            throw new ArgumentException(
                $"{Path.Combine(directory, PeftAdapter.ConfigFileName)}: the adapter is r={adapter.Config.Rank} alpha={adapter.Config.Alpha} " +
                $"rslora={adapter.Config.UseRsLora} on {string.Join(",", adapter.Config.TargetModules)}, but this backend trains " +
                $"r={lora.Rank} alpha={lora.Alpha} rslora={lora.UseRsLora} on {string.Join(",", lora.TargetModules)}");
        backend.SetTrainable(adapter.Tensors);
    }
}
