using System.Text.Json;

namespace Muxado.Reactive.Telemetry;

/// <summary>The collector's page: plain HTML with a little inline JavaScript that draws on canvases (index.html).</summary>
internal static class Page
{
    private const string HistoryPlaceholder = "/*HISTORY*/[]";
    private static readonly string Template = Load();

    /// <summary>
    /// The page with <paramref name="history"/> inside, as JSON in a script element: the page draws from it at once, with
    /// no request of its own. System.Text.Json escapes '&lt;' and '&gt;', so nothing in it can close the element.
    /// </summary>
    public static string Render(TelemetrySnapshot[] history) =>
        Template.Replace(HistoryPlaceholder, JsonSerializer.Serialize(history, JsonSerializerOptions.Web), StringComparison.Ordinal);

    private static string Load()
    {
        using var resource = typeof(Page).Assembly.GetManifestResourceStream("index.html")
            ?? throw new InvalidOperationException("index.html is not embedded");
        using var reader = new StreamReader(resource);
        var html = reader.ReadToEnd();
        return html.Contains(HistoryPlaceholder, StringComparison.Ordinal) ? html
            : throw new InvalidOperationException($"index.html has no {HistoryPlaceholder}");
    }
}
