using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class FrameRecorderTests
{
    [Test]
    public void A_recorded_frame_keeps_its_bytes_when_the_writer_reuses_its_buffer()
    {
        var scheduler = new TestScheduler();
        var recorder = new FrameRecorder(scheduler);
        var buffer = "abc"u8.ToArray();
        var debug = "bye"u8.ToArray();
        recorder.OnNext(Frame.Data(1, buffer));
        recorder.OnNext(Frame.GoAway(1, ErrorCode.NoError, debug));
        buffer[0] = (byte)'X';
        debug[0] = (byte)'X';
        Assert.That(recorder.Frames, Is.EqualTo(new[] { Frame.Data(1, "abc"u8.ToArray()), Frame.GoAway(1, ErrorCode.NoError, "bye") }));
    }

    [Test]
    public void Notifications_are_stamped_with_the_virtual_time_and_new_frames_are_taken_once()
    {
        var scheduler = new TestScheduler();
        var recorder = new FrameRecorder(scheduler);
        scheduler.AdvanceTo(30);
        recorder.OnNext(Frame.WndInc(1, 5));
        Assert.That(recorder.TakeNew(), Is.EqualTo(new[] { Frame.WndInc(1, 5) }));
        Assert.That(recorder.TakeNew(), Is.Empty);
        scheduler.AdvanceTo(40);
        recorder.OnNext(Frame.Rst(1, ErrorCode.StreamCancelled));
        recorder.OnCompleted();
        Assert.That(recorder.IsTerminated, Is.True);
        Assert.That(recorder.TakeNew(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamCancelled) }));
        recorder.Messages.AssertEqual(OnNext(30, Frame.WndInc(1, 5)), OnNext(40, Frame.Rst(1, ErrorCode.StreamCancelled)), OnCompleted<Frame>(40));
    }

    [Test]
    public async Task A_recording_transport_passes_frames_and_the_write_queue_through()
    {
        var scheduler = new BoundedTestScheduler();
        var (left, right) = scheduler.CreateInMemoryPair();
        var recording = new RecordingFrameTransport(left, scheduler);
        var arrived = scheduler.CreateObserver<Frame>();
        right.Inbound.Subscribe(arrived);

        scheduler.RunTo(100);
        recording.Outbound.OnNext(Frame.WndInc(1, 7));
        Assert.That(recording.PendingWriteBytes, Is.EqualTo(left.PendingWriteBytes).And.GreaterThan(0), "not delivered before the scheduler runs");
        scheduler.RunUntilIdle();
        Assert.That(recording.PendingWriteBytes, Is.Zero);
        Assert.That(arrived.Messages.Select(m => m.Value.Value), Is.EqualTo(new[] { Frame.WndInc(1, 7) }));
        recording.Written.Messages.AssertEqual(OnNext(100, Frame.WndInc(1, 7)));

        scheduler.RunTo(250);
        await recording.DisposeAsync();
        Assert.That(recording.DisposedAt, Is.EqualTo(250));
        scheduler.RunUntilIdle();
        Assert.That(arrived.Messages.Last().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnCompleted), "the inner transport was closed");
    }
}
