using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Muxado.Reactive.Diagnostics;
using Muxado.Reactive.Tests.Sessions;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary>Logs and metrics of a real session pair over loopback TCP (issue 12): the events and instruments appear, and agree with <see cref="MuxSession.Statistics"/>.</summary>
public class TcpTelemetryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_tcp_session_pair_logs_its_life_and_counts_its_traffic()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        using var bytesSent = new MetricCollector<long>(client.Meters, MuxInstruments.MeterName, "muxado.bytes.sent");
        using var dataSent = new MetricCollector<long>(client.Meters, MuxInstruments.MeterName, "muxado.frames.sent");
        using var opened = new MetricCollector<long>(client.Meters, MuxInstruments.MeterName, "muxado.stream.opened");
        using var clientEnded = new MetricCollector<long>(client.Meters, MuxInstruments.MeterName, "muxado.session.ended");
        using var bytesReceived = new MetricCollector<long>(server.Meters, MuxInstruments.MeterName, "muxado.bytes.received");
        using var accepted = new MetricCollector<long>(server.Meters, MuxInstruments.MeterName, "muxado.stream.accepted");
        using var serverEnded = new MetricCollector<long>(server.Meters, MuxInstruments.MeterName, "muxado.session.ended");
        var (clientSocket, serverSocket) = await TcpSessionPair.ConnectSocketsAsync();
        var clientSession = MuxSession.Create(clientSocket, SessionRole.Client, client.Options());
        var serverSession = MuxSession.Create(serverSocket, SessionRole.Server, server.Options());
        var payload = new byte[300 * 1024];
        Random.Shared.NextBytes(payload);

        var receiving = Task.Run(async () => await StreamIO.ReadToEndAsync(await serverSession.AcceptAsync()));
        var stream = clientSession.Open();
        await stream.WriteAsync(payload).AsTask().WaitAsync(Bound);
        stream.CloseWrite();
        Assert.That(await receiving.WaitAsync(Bound), Is.EqualTo(payload).AsCollection);
        await clientSession.DisposeAsync().AsTask().WaitAsync(Bound);
        await serverSession.Completion.WaitAsync(Bound);
        await serverSession.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.That(client.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Debug).Select(r => r.Id.Name),
            Is.EqualTo(new[] { "SessionStarted", "GoAwaySent", "SessionEnded" }).AsCollection);
        Assert.That(server.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Debug).Select(r => r.Id.Name),
            Is.EqualTo(new[] { "SessionStarted", "GoAwayReceived", "GoAwaySent", "SessionEnded" }).AsCollection,
            "the server answers the client's EOF with GOAWAY PeerEOF, as Go does");
        Assert.That(server.Events(2).Single().GetStructuredStateValue("LocalCode"), Is.EqualTo("PeerEOF"));

        var stats = clientSession.Statistics;
        long sent = bytesSent.GetMeasurementSnapshot().Sum(m => m.Value);
        Assert.That(sent, Is.EqualTo(stats.BytesSent).And.GreaterThan(payload.Length), "every byte of the payload, with headers");
        Assert.That(bytesReceived.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(sent), "and the server read them all");
        Assert.That(dataSent.GetMeasurementSnapshot().Where(m => Equals(m.Tags["muxado.frame.type"], "data")).Sum(m => m.Value),
            Is.GreaterThanOrEqualTo(payload.Length / clientSession.Options.MaxFramePayload));
        Assert.That((opened.GetMeasurementSnapshot().Sum(m => m.Value), accepted.GetMeasurementSnapshot().Sum(m => m.Value)), Is.EqualTo((1L, 1L)));
        Assert.That(clientEnded.GetMeasurementSnapshot().Single().Tags["muxado.error_code"], Is.EqualTo("NoError"));
        Assert.That(serverEnded.GetMeasurementSnapshot().Single().Tags["muxado.error_code"], Is.EqualTo("PeerEOF"));
    }
}
