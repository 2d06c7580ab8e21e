using Spectre.Console;

namespace OnnxCoEvo.Cli.Terminal;

/// <summary>The two-column report every inspecting verb prints; keys and values are escaped, never read as markup.</summary>
public sealed class KeyValueTable
{
    private readonly Table _table;

    public KeyValueTable(string? keyHeader = null, string? valueHeader = null)
    {
        _table = new Table().Border(TableBorder.Rounded).AddColumn(keyHeader ?? "key").AddColumn(valueHeader ?? "value");
        if (keyHeader is null && valueHeader is null)
            _table.HideHeaders();
    }

    public void Add(string key, string value) => _table.AddRow(Markup.Escape(key), Markup.Escape(value));

    public void Write() => AnsiConsole.Write(_table);
}
