"""The smallest Gradio app with Gradio's own password login (the app under test is Gradio's auth).

Run by launch.running("gradio"): PORT, ZOO_USER and ZOO_PASSWORD come from the environment.
"""

import os

import gradio as gr

demo = gr.Interface(fn=lambda text: text[::-1], inputs="text", outputs="text", title="zoo")
demo.launch(
    server_name="127.0.0.1",
    server_port=int(os.environ["PORT"]),
    share=False,
    auth=(os.environ["ZOO_USER"], os.environ["ZOO_PASSWORD"]),
)
