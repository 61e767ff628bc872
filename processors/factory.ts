// Spindle controllers send one message with both readings and alarms; split it into the two tables.
interface Message {
  measurement: string;
  sensor: string;
  ts?: string | number;
  data: Record<string, unknown>;
}

export default async function process(message: Message): Promise<Message[]> {
  const { rpm, load, alarm } = message.data;
  const out: Message[] = [
    { measurement: 'spindle', sensor: message.sensor, ts: message.ts, data: { rpm, load_pct: load, running: Number(rpm) > 0 } },
  ];
  if (typeof alarm === 'object' && alarm !== null) {
    const { code, detail } = alarm as { code?: number; detail?: string };
    out.push({ measurement: 'alarms', sensor: message.sensor, ts: message.ts, data: { code, detail, raised_at: message.ts } });
  }
  return out;
}
